/**
 * duplicity's timetopretty: asctime in local time, e.g. `Tue Nov 14 22:13:20 2023`. A module of its
 * own so that a backup, which prints it, does not load collection-status's code.
 */
export function prettyTime(t: number): string {
  const d = new Date(t * 1000);
  const day = DAYS[d.getDay()]!;
  const mon = MONTHS[d.getMonth()]!;
  const dd = String(d.getDate()).padStart(2, ' ');
  const hh = String(d.getHours()).padStart(2, '0');
  const mm = String(d.getMinutes()).padStart(2, '0');
  const ss = String(d.getSeconds()).padStart(2, '0');
  return `${day} ${mon} ${dd} ${hh}:${mm}:${ss} ${d.getFullYear()}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
