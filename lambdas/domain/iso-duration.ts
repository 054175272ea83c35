/**
 * ISO 8601 durations as policies write them (`PT30M`, `PT1H`, `P1D`, `P1W`). Years and months are
 * refused: their length in seconds depends on the calendar, and a timeout must mean one thing.
 */
const DURATION = /^P(?:(\d+)W|(?=\d|T\d)(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?)$/;

const UNITS = [
  { name: 'day', seconds: 86_400 },
  { name: 'hour', seconds: 3_600 },
  { name: 'minute', seconds: 60 },
  { name: 'second', seconds: 1 },
] as const;

/** Seconds in an ISO 8601 duration of weeks, days, hours, minutes and seconds; undefined if malformed. */
export function parseIsoDuration(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (match === null) {
    return undefined;
  }
  const [weeks, days, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? '0')) as [
    number,
    number,
    number,
    number,
    number,
  ];
  return (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds;
}

/** "1 hour 30 minutes" for 5400: how a reviewer reads a (positive) timeout. */
export function describeDuration(totalSeconds: number): string {
  const parts: string[] = [];
  let rest = totalSeconds;
  for (const unit of UNITS) {
    const count = Math.floor(rest / unit.seconds);
    rest -= count * unit.seconds;
    if (count > 0) {
      parts.push(`${count} ${unit.name}${count === 1 ? '' : 's'}`);
    }
  }
  return parts.join(' ');
}
