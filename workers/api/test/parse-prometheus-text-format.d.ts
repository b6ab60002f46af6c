// The package ships no types; this is the shape its README documents.
declare module "parse-prometheus-text-format" {
  type Labels = Record<string, string>;
  type Metric = {
    labels?: Labels;
    value?: string;
    quantiles?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  };
  type Family = {
    name: string;
    help: string;
    type: "COUNTER" | "GAUGE" | "SUMMARY" | "HISTOGRAM" | "UNTYPED";
    metrics: Metric[];
  };
  export default function parsePrometheusTextFormat(text: string): Family[];
}
