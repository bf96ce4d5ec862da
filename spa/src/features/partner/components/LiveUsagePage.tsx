import { useEffect, useState } from "react";
import { Alert } from "@/components/ui/Alert";
import { Card } from "@/components/ui/Card";
import { PageHeader } from "@/components/ui/PageHeader";
import { Sparkline } from "@/components/ui/Sparkline";
import { Table } from "@/components/ui/Table";
import { formatMoney, formatNumber } from "@/lib/format";
import { AuthSocket, type SocketStatus } from "@/lib/ws";
import { applyUsage, emptyLive, sparkValues, type LiveState, type UsageFrame } from "@/features/partner/api/live";
import { usePartnerTenants } from "@/features/partner/api/partner";

const STATUS_WORDS: Record<SocketStatus, string> = {
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
  refused: "Refused",
};

export function LiveUsagePage() {
  const [live, setLive] = useState<LiveState>(emptyLive);
  const [status, setStatus] = useState<SocketStatus>("connecting");
  const [now, setNow] = useState(() => Date.now());
  const tenants = usePartnerTenants();
  useEffect(() => {
    const socket = new AuthSocket<UsageFrame | { type: string }>({
      path: "/api/v1/usage/ws",
      readyType: "ready",
      onStatus: setStatus,
      onFrame: (f) => {
        if (f.type !== "usage") return;
        setLive((s) => applyUsage(s, f as UsageFrame));
      },
    });
    const clock = setInterval(() => setNow(Date.now()), 5000);
    return () => {
      clearInterval(clock);
      socket.close();
    };
  }, []);
  const name = (id: string) => tenants.data?.find((t) => t.id === id)?.name ?? id.slice(0, 8);
  const rows = Object.values(live.tenants).sort((a, b) => Number(b.cost) - Number(a.cost));
  return (
    <>
      <PageHeader title="Live usage" subtitle="Entries appear here as the ledger writes them." />
      {status === "refused" ? <Alert tone="error" title="Live usage refused">This account may not watch live usage.</Alert> : null}
      {status === "reconnecting" ? <Alert tone="warning">Connection lost — reconnecting…</Alert> : null}
      <div className="grid">
        <Card title="Billed since you opened this page">
          <p className="big-number tick" key={Object.keys(live.seen).length} data-testid="live-total" aria-live="polite">{formatMoney(live.total)}</p>
          <p className="muted">{formatNumber(live.tokens)} tokens · your commission {formatMoney(live.commission)}</p>
        </Card>
        <Card title="Last 3 minutes">
          <Sparkline values={sparkValues(live, now)} label="Billed amount per 5 seconds" width={280} height={60} />
          <p className="status-line" role="status" data-socket={status}>{STATUS_WORDS[status]}</p>
        </Card>
      </div>
      <Card title="By tenant">
        <Table
          caption="Live usage by tenant"
          rows={rows}
          rowKey={(r) => r.tenantId}
          empty="Waiting for usage…"
          columns={[
            { key: "name", header: "Tenant", render: (r) => name(r.tenantId) },
            { key: "events", header: "Entries", numeric: true, render: (r) => String(r.events) },
            { key: "tokens", header: "Tokens", numeric: true, render: (r) => formatNumber(r.tokens) },
            { key: "cost", header: "Billed", numeric: true, render: (r) => formatMoney(r.cost) },
            { key: "comm", header: "Commission", numeric: true, render: (r) => formatMoney(r.commission) },
          ]}
        />
      </Card>
    </>
  );
}
