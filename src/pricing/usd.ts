/**
 * An amount in dollars for people: whole dollars from $100, cents from $1, two significant digits
 * below (cost figures span from millionths of a dollar per object to hundreds per upload).
 */
export function formatUsd(x: number): string {
  if (x === 0) return '$0';
  if (x < 0) return `-${formatUsd(-x)}`;
  if (x >= 100) return `$${Math.round(x).toLocaleString('en-US')}`;
  if (x >= 1) return `$${x.toFixed(2)}`;
  return `$${x.toFixed(Math.min(20, 1 - Math.floor(Math.log10(x))))}`;
}
