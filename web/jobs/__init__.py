"""External jobs over AMQP (and their HTTP twin's webhooks).

## Queue interface
Publish to exchange `hirebuddha.jobs` (topic, durable) with routing key `submit`, header
`x-api-key: <tenant API key>`, optional AMQP `reply_to` and `correlation_id`, content type
`application/json`, body `{"agent_id": "...", "input": "...", "metadata": {}}`. The result
`{"correlation_id", "execution_id", "status": "completed|failed|rejected", "output", "usage",
"error"}` goes to `reply_to` through the default exchange and always to exchange
`hirebuddha.results` (topic) with routing key `tenant.<tenant_id>`. A job is run once per
tenant and `correlation_id`: publishing it again sends the stored result again (or, while
it still runs, the one result when it ends). Anything that cannot become an execution (bad
key, unknown or inactive agent, malformed or oversized body, wrong content type, suspended
tenant, no credit) gets a `rejected` result and is dead-lettered with its reason (headers
`x-reason` and `x-hb-reason`), listed at `GET /api/v1/admin/dead-letters`. The schema is
served at `/asyncapi`.

## Fairness and priority
Two mechanisms, one per place where tenants compete:

1. Per-tenant fair admission (a tenant cannot flood the shared queue). A tenant never has
   more than `tenants.max_concurrency` executions admitted (`pending` or `running`). A job
   beyond that is not refused and not queued on RabbitMQ: it is written as an execution in
   status `queued`, in PostgreSQL, in the order it arrived. When one of the tenant's
   executions ends, the actor that ran it promotes the tenant's oldest `queued` jobs into
   the free slots (under the tenant's advisory lock, the same one admission takes) and
   publishes them; every actors process also promotes on a timer as a safety net. So a
   free tenant's burst of 1,000 jobs puts at most `max_concurrency` of them on the
   executions queue at any time, and another tenant's single job waits behind at most
   those, never behind the other 996.
2. Tier lanes (paying tiers are never behind free work). `tenants.tier` picks the
   executions queue: `free` -> `hirebuddha.executions`, `pro` -> `hirebuddha.executions.pro`,
   `enterprise` -> `hirebuddha.executions.enterprise`; all three are quorum queues
   (replicated, durable; RabbitMQ quorum queues have no message priority, so priority is
   separate queues, not `x-max-priority` on a classic queue). Every actors process consumes
   each lane on its own channel with prefetch = `--capacity`, so a full free lane never
   delays a pro or enterprise execution: they are taken at once by the same processes.
   Chat and REST executions use the same lanes.

The intake itself is one quorum queue consumed in order by the web processes; handling a
job costs a key lookup and one admission transaction (a few ms), so a burst delays other
tenants' jobs by its intake time only, not by its execution time.
"""
