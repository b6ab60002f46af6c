import { useEffect, useState } from "preact/hooks";
import { isOperator } from "./ops-api";

/** Whether to show the Ops tab: asks the API once per token. */
export function useIsOperator(token: string | null): boolean {
  const [operator, setOperator] = useState(false);
  useEffect(() => {
    setOperator(false);
    if (!token) return;
    let live = true;
    isOperator().then(
      (yes) => live && setOperator(yes),
      () => live && setOperator(false),
    );
    return () => {
      live = false;
    };
  }, [token]);
  return operator;
}
