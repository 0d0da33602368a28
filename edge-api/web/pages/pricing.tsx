/** @jsxImportSource hono/jsx */
/**
 * Pricing (C6, U1): the plan catalog with the current plan marked, change plan (an upgrade at
 * once, a downgrade from the next period — the account actor's own rule, `classifyPlanChange`),
 * cancel (sending stops at the end of the period; data kept for a retention period, then deleted)
 * and the billing history per period (plan, quota, usage, price).
 */
import type { Child } from "hono/jsx";
import { classifyPlanChange } from "../../../actors/account/plans.ts";
import { ConfirmForm } from "../components/confirm-form.tsx";
import { count, day, money } from "../components/settings-format.ts";
import { type NoticeKind, noticeHref } from "../notices.ts";
import type { PageHandler } from "../page.ts";
import type { AccountDetails, BillingPeriod, Plan } from "../types.ts";

export const pricingPage: PageHandler = async ({ api }) => {
  const [account, { plans }, { periods }] = await Promise.all([
    api.get<AccountDetails>("/account"),
    api.get<{ plans: Plan[] }>("/plans"),
    api.get<{ periods: BillingPeriod[] }>("/account/billing"),
  ]);
  const tz = account.timezone;
  const current = plans.find((p) => p.name === account.plan) ?? {
    name: account.plan,
    monthlyRecipients: account.period.quota,
    priceCents: account.period.priceCents,
    currency: account.period.currency,
  };
  const nextPeriod = day(account.period.end, tz);
  const cancelled = account.status === "cancelled";
  return {
    title: "Pricing",
    body: (
      <>
        <section aria-labelledby="plan-h" class="current-plan">
          <h2 id="plan-h">Your plan</h2>
          <p>
            <strong data-current-plan={account.plan}>{account.plan}</strong>: {count(account.period.quota)}{" "}
            recipients per period, {money(current.priceCents, current.currency)} per month. Current period:{" "}
            {day(account.period.start, tz)} to {nextPeriod}.
          </p>
          {account.pendingPlan ? (
            <p class="notice" data-pending-plan={account.pendingPlan}>
              Your plan changes to <strong>{account.pendingPlan}</strong> on {nextPeriod}, at the start of the
              next period.
            </p>
          ) : null}
          {account.cancelAt && !cancelled ? (
            <p class="notice" role="status">
              Cancellation requested: sending stops on {day(account.cancelAt, tz)}; your data is kept until{" "}
              {account.eraseAt ? day(account.eraseAt, tz) : "the end of the retention period"}, then deleted.
            </p>
          ) : null}
          {cancelled ? <p class="notice">This account is cancelled: sending has stopped.</p> : null}
        </section>
        <div class="table-wrap">
          <table class="plans">
            <caption>Plans</caption>
            <thead>
              <tr>
                <th scope="col">Plan</th>
                <th scope="col" class="num">
                  Recipients per month
                </th>
                <th scope="col" class="num">
                  Price per month
                </th>
                <th scope="col">Change</th>
              </tr>
            </thead>
            <tbody>
              {plans.map((p) => (
                <PlanRow plan={p} current={current} account={account} nextPeriod={nextPeriod} />
              ))}
            </tbody>
          </table>
        </div>
        <p class="muted">
          An upgrade applies at once: its quota counts for the current period. A downgrade applies from the
          next period ({nextPeriod}).
        </p>
        {account.cancelAt || cancelled ? null : (
          <section aria-labelledby="cancel-h" class="danger-zone">
            <h2 id="cancel-h">Cancel the SMTP service</h2>
            <p>
              Sending stops at the end of the current period ({nextPeriod}). Your data is kept for a retention
              period, then deleted.
            </p>
            <ConfirmForm
              api="/v1/account/cancel"
              method="POST"
              question={`Cancel the SMTP service? Sending stops at the end of the period (${nextPeriod}); your data is kept for a retention period, then deleted.`}
              label="Cancel the service"
              then={`goto:${noticeHref("/pricing", "service-cancelled")}`}
            />
          </section>
        )}
        <div class="table-wrap">
          <table class="billing">
            <caption>Billing history</caption>
            <thead>
              <tr>
                <th scope="col">Period</th>
                <th scope="col">Plan</th>
                <th scope="col" class="num">
                  Quota
                </th>
                <th scope="col" class="num">
                  Used
                </th>
                <th scope="col" class="num">
                  Price
                </th>
              </tr>
            </thead>
            <tbody>
              {[...periods].reverse().map((b) => (
                <tr data-period-start={b.start}>
                  <th scope="row">
                    {day(b.start, tz)} to {day(b.end, tz)}
                    {b.start === account.period.start && !cancelled ? (
                      <span class="muted"> (current)</span>
                    ) : null}
                  </th>
                  <td>{b.plan}</td>
                  <td class="num">{count(b.quota)}</td>
                  <td class="num">{count(b.used)}</td>
                  <td class="num">{money(b.priceCents, b.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </>
    ),
  };
};

function PlanRow(p: { plan: Plan; current: Plan; account: AccountDetails; nextPeriod: string }) {
  const { plan, current, account } = p;
  const isCurrent = plan.name === current.name;
  const isPending = plan.name === account.pendingPlan;
  const kind = classifyPlanChange(current, plan);
  let action: Child = null;
  if (account.status === "cancelled") action = null;
  else if (isCurrent && account.pendingPlan)
    action = (
      <PlanForm
        plan={plan.name}
        label={`Keep ${plan.name}`}
        done="plan-kept"
        question={`Keep ${plan.name} and withdraw the change to ${account.pendingPlan}?`}
      />
    );
  else if (isPending) action = <span>Starts on {p.nextPeriod}</span>;
  else if (kind === "upgrade")
    action = (
      <PlanForm
        plan={plan.name}
        label={`Upgrade to ${plan.name}`}
        done="plan-upgraded"
        question={`Upgrade to ${plan.name} now? Its quota of ${count(plan.monthlyRecipients)} recipients applies at once.`}
      />
    );
  else if (kind === "downgrade")
    action = (
      <PlanForm
        plan={plan.name}
        label={`Downgrade to ${plan.name}`}
        done="plan-downgraded"
        question={`Downgrade to ${plan.name}? The change applies from the next period (${p.nextPeriod}).`}
      />
    );
  return (
    <tr
      data-plan={plan.name}
      class={isCurrent ? "current" : undefined}
      aria-current={isCurrent ? "true" : undefined}
    >
      <th scope="row">
        {plan.name}
        {isCurrent ? <span class="badge current-badge"> Current plan</span> : null}
      </th>
      <td class="num">{count(plan.monthlyRecipients)}</td>
      <td class="num">{money(plan.priceCents, plan.currency)}</td>
      <td>{action}</td>
    </tr>
  );
}

function PlanForm(p: { plan: string; label: string; question: string; done: NoticeKind }) {
  return (
    <form
      class="inline"
      data-api="/v1/account/plan"
      data-method="POST"
      data-confirm={p.question}
      data-then={`goto:${noticeHref("/pricing", p.done, p.plan)}`}
    >
      <input type="hidden" name="plan" value={p.plan} />
      <button type="submit">{p.label}</button>
      <p class="error" role="alert" data-role="error" />
    </form>
  );
}
