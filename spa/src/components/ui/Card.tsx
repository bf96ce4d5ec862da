import type { HTMLAttributes, ReactNode } from "react";

interface CardProps extends Omit<HTMLAttributes<HTMLElement>, "title"> {
  title?: ReactNode;
  actions?: ReactNode;
  as?: "section" | "div" | "article";
}

/** A translucent glass platter with a hairline edge; a specular highlight sweeps across on hover. */
export function Card({ title, actions, as: Tag = "section", className = "", children, ...rest }: CardProps) {
  return (
    <Tag className={`glass card ${className}`} {...rest}>
      {title || actions ? (
        <header className="card-head">
          {title ? <h2 className="card-title">{title}</h2> : <span />}
          {actions ? <div className="card-actions">{actions}</div> : null}
        </header>
      ) : null}
      {children}
    </Tag>
  );
}
