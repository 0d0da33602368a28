/**
 * The account the cluster benches send as: created through a node's operator API (`/v1/admin`),
 * plan "business", `shop.example` verified by trust, one SMTP user. Returns its SMTP credentials.
 */
export async function benchAccount(
  api: string,
  adminToken: string,
): Promise<{ username: string; password: string }> {
  const admin = (path: string, body: unknown) =>
    fetch(`${api}/v1/admin${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then((r) => r.json() as Promise<Record<string, string>>);
  const acct = await admin("/accounts", { name: "Bench", plan: "business" });
  await admin(`/accounts/${acct.accountId}/domains`, { domain: "shop.example" });
  await admin(`/accounts/${acct.accountId}/domains/shop.example/verify`, { trust: true });
  const user = await admin(`/accounts/${acct.accountId}/smtp-users`, { name: "app" });
  if (!user.username || !user.password) throw new Error(`no SMTP user: ${JSON.stringify(user)}`);
  return { username: user.username, password: user.password };
}
