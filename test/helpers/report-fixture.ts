/**
 * A report.json as a real build writes it (every field its readers check), with the fields a test
 * cares about laid over it: hand-written reports that lack fields are refused by readReport.
 */
export function buildReportJson(fields: Record<string, unknown>): string {
  return JSON.stringify({
    version: 1,
    image: 'core-image-test',
    machine: 'raspberrypi4-64',
    distro: 'poky',
    mode: 'build',
    result: 'success',
    startedAt: '2026-11-23T10:00:00.000Z',
    finishedAt: '2026-11-23T11:00:00.000Z',
    durationSeconds: 3600,
    engine: 'docker',
    layers: [],
    failures: [],
    artifacts: [],
    log: 'build/logs/build.log',
    ...fields,
  });
}
