import { useRef, type ButtonHTMLAttributes } from "react";

type Variant = "primary" | "ghost" | "danger";

export interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: Variant;
  busy?: boolean;
}

/** A glass button; the primary one wobbles like jelly when pressed (CSS keyframes, off for reduced motion). */
export function Button({ variant = "ghost", busy, className = "", onClick, children, disabled, ...rest }: ButtonProps) {
  const ref = useRef<HTMLButtonElement>(null);
  return (
    <button
      ref={ref}
      type="button"
      className={`btn btn-${variant} ${className}`}
      disabled={disabled || busy}
      aria-busy={busy || undefined}
      onClick={(e) => {
        const el = ref.current;
        if (el && variant === "primary") {
          el.classList.remove("jelly");
          void el.offsetWidth; // restart the animation on every press
          el.classList.add("jelly");
        }
        onClick?.(e);
      }}
      onAnimationEnd={() => ref.current?.classList.remove("jelly")}
      {...rest}
    >
      {busy ? <span className="spinner" aria-hidden="true" /> : null}
      {children}
    </button>
  );
}
