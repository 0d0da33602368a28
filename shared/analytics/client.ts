/**
 * The one thing the analytics queries need from ClickHouse: run a SELECT with parameters and read its
 * rows. Satisfied by `@clickhouse/client` (Node, chDB or server) and by `@clickhouse/client-web` (edge),
 * so this folder's query code imports neither.
 */
export interface QueryClient {
  query(params: {
    query: string;
    query_params?: Record<string, unknown>;
    format: "JSONEachRow";
  }): Promise<{ json(): Promise<unknown> }>;
}

export async function rows<T>(
  client: QueryClient,
  query: string,
  params: Record<string, unknown>,
): Promise<T[]> {
  const rs = await client.query({ query, query_params: params, format: "JSONEachRow" });
  return (await rs.json()) as T[];
}
