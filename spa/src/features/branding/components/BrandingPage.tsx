import { useState, type FormEvent } from "react";
import { Alert, QueryError } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Card } from "@/components/ui/Card";
import { TextField } from "@/components/ui/Field";
import { PageHeader } from "@/components/ui/PageHeader";
import { usePartnerBrand, usePreviewMail, useSaveBrand, type Brand } from "@/features/branding/api/brand";

const paint = (bg: string, fg: string) => (el: HTMLElement | null) => {
  el?.style.setProperty("background", bg);
  el?.style.setProperty("color", fg);
};

/** The console and a mail as the partner's tenants will see them, as you type. */
function BrandPreview({ name, primary, accent, logo }: { name: string; primary: string; accent: string; logo: string }) {
  return (
    <div className="brand-preview" aria-label="Brand preview">
      <div className="brand-preview-head" ref={paint(primary, "#ffffff")}>
        {logo ? <img src={logo} alt="" height={24} /> : null}
        <strong>{name || "Your product"}</strong>
      </div>
      <div className="brand-preview-body">
        <p ref={(el) => el?.style.setProperty("color", accent)}>Agents · Conversations · Usage</p>
        <span className="brand-preview-button" ref={paint(primary, "#ffffff")}>Primary action</span>
      </div>
    </div>
  );
}

type Form = { product_name: string; primary_color: string; accent_color: string; logo_url: string; support_email: string; console_host: string };
const formOf = (b: Brand): Form => ({
  product_name: b.partner_id ? b.product_name : "",
  primary_color: b.primary_color,
  accent_color: b.accent_color,
  logo_url: b.logo_url ?? "",
  support_email: b.support_email ?? "",
  console_host: b.console_host ?? "",
});

export function BrandingPage() {
  const brand = usePartnerBrand();
  if (brand.error) return <QueryError error={brand.error} />;
  return brand.data ? <BrandForm initial={formOf(brand.data)} /> : null;
}

function BrandForm({ initial }: { initial: Form }) {
  const save = useSaveBrand();
  const preview = usePreviewMail();
  const [form, setForm] = useState<Form>(initial);
  const set = (key: keyof Form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({
      product_name: form.product_name,
      primary_color: form.primary_color,
      accent_color: form.accent_color,
      logo_url: form.logo_url || null,
      support_email: form.support_email || null,
      console_host: form.console_host || null,
    });
  };
  return (
    <>
      <PageHeader title="Branding" subtitle="Your tenants see your product name, logo and colours in the console, their widgets and their mail." />
      <div className="grid">
        <Card title="Your brand">
          <form onSubmit={submit}>
            <TextField label="Product name" required maxLength={100} value={form.product_name} onChange={set("product_name")} />
            <TextField label="Logo URL" type="url" value={form.logo_url} onChange={set("logo_url")} placeholder="https://…/logo.svg" />
            <div className="inline-form">
              <TextField label="Primary colour" type="color" value={form.primary_color} onChange={set("primary_color")} hint="White text sits on it." />
              <TextField label="Accent colour" type="color" value={form.accent_color} onChange={set("accent_color")} hint="Links and headings." />
            </div>
            <TextField label="Support email" type="email" value={form.support_email} onChange={set("support_email")} />
            <TextField label="Console hostname" value={form.console_host} onChange={set("console_host")} placeholder="console.example.com" hint="Point it at this platform; the sign-in page there shows your brand." />
            <Button type="submit" variant="primary" busy={save.isPending}>Save brand</Button>
          </form>
          {save.error ? <Alert tone="error">{save.error.message}</Alert> : null}
          {save.isSuccess ? <Alert tone="success">Saved. Your tenants see it from their next page load.</Alert> : null}
        </Card>
        <Card title="Live preview">
          <BrandPreview name={form.product_name} primary={form.primary_color} accent={form.accent_color} logo={form.logo_url} />
          <p>
            <Button onClick={() => preview.mutate()} busy={preview.isPending}>Email me a preview</Button>
          </p>
          {preview.isSuccess ? <Alert tone="success">Sent to {preview.data.sent_to}.</Alert> : null}
          {preview.error ? <Alert tone="error">{preview.error.message}</Alert> : null}
        </Card>
      </div>
    </>
  );
}
