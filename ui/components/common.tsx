/** Pieces every page uses: load states, badges, byte and money cells with their exact values. */
import type { ComponentChildren } from 'preact';
import { formatBytes, formatUsd } from '../format.ts';

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function ErrorBox({ message }: { message: string }) {
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'neutral';

/** A state in words with a colour: never colour alone. */
export function Badge({ tone, children }: { tone: Tone; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

/** Bytes for people, the exact count in `data-bytes` and the tooltip. */
export function Bytes({ n }: { n: number }) {
  return (
    <span data-bytes={n} title={`${n.toLocaleString('en-US')} bytes`}>
      {formatBytes(n)}
    </span>
  );
}

/** Dollars for people, the exact figure in `data-usd` and the tooltip. */
export function Usd({ v }: { v: number }) {
  return (
    <span data-usd={v} title={`$${v}`}>
      {formatUsd(v)}
    </span>
  );
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section class="card" aria-labelledby={id}>
      <header class="card-head">
        <h2 id={id}>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

/** A horizontally scrolling box, so that wide tables stay usable on a narrow screen. */
export function TableBox({ children, label }: { children: ComponentChildren; label: string }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
    <section class="table-box" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}

export function stateTone(state: string): Tone {
  switch (state) {
    case 'ready':
    case 'readable':
    case 'restored':
    case 'OK':
    case 'ok':
      return 'ok';
    case 'in-progress':
    case 'requested':
    case 'running':
    case 'RUNNING':
      return 'info';
    case 'expiring':
    case 'archived':
      return 'warn';
    case 'expired':
    case 'ERROR':
    case 'INTERRUPTED':
    case 'error':
    case 'failed':
      return 'bad';
    default:
      return 'neutral';
  }
}
