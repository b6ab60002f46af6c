// The Ops tab's lists of assets (stuck, dead-lettered) and one asset's detail.

import type { OpsAssetRef } from "@darkroom/shared/ops";
import { ago, duration } from "./format";
import type { OpsAsset } from "./ops-api";

function sweeperSaid(i: OpsAssetRef, now: number): string {
  return i.sweeps === 0 ? "not re-sent yet" : `re-sent ${i.sweeps}× (last ${ago(i.sweptAt, now)})`;
}

export function Items(props: {
  title: string;
  testid: string;
  items: OpsAssetRef[];
  empty: string;
  onOpen: (id: string) => void;
}) {
  const now = Date.now();
  return (
    <section>
      <h2>{props.title}</h2>
      {props.items.length === 0 ? (
        <p class="muted">{props.empty}</p>
      ) : (
        <ul class="ops-items" data-testid={props.testid}>
          {props.items.map((i) => (
            <li key={i.id}>
              <a
                href={`#ops/asset/${i.id}`}
                onClick={(e) => {
                  e.preventDefault();
                  props.onOpen(i.id);
                }}
              >
                {i.name}
              </a>{" "}
              <span class="muted">
                {i.status} for {duration(i.ageMs)}
                {i.error ? ` · ${i.error.stage}/${i.error.code}` : ""} · {sweeperSaid(i, now)} ·{" "}
                {i.attempts} attempts
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function Detail(props: { asset: OpsAsset; onClose: () => void }) {
  const a = props.asset;
  return (
    <div class="modal" data-testid="ops-detail">
      <div class="modal-body">
        <button type="button" class="close" onClick={props.onClose}>
          ×
        </button>
        {a.urls.thumb && <img class="preview" src={a.urls.thumb} alt={a.name} />}
        <table>
          <tbody>
            <tr>
              <th>name</th>
              <td>{a.name}</td>
            </tr>
            <tr>
              <th>asset</th>
              <td>
                <code>{a.id}</code>
              </td>
            </tr>
            <tr>
              <th>user</th>
              <td>
                <code>{a.userId}</code>
              </td>
            </tr>
            <tr>
              <th>status</th>
              <td>
                {a.status} since {a.statusAt === null ? "–" : new Date(a.statusAt).toLocaleString()}
              </td>
            </tr>
            <tr>
              <th>error</th>
              <td>{a.error ? `${a.error.stage}/${a.error.code}: ${a.error.message}` : "–"}</td>
            </tr>
            <tr>
              <th>attempts · retries · sweeps</th>
              <td>
                {a.attempts} · {a.retries} · {a.sweeps}
              </td>
            </tr>
          </tbody>
        </table>
      </div>
    </div>
  );
}
