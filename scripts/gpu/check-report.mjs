// How the GPU check scripts report: one line per check, "ok" or "FAIL", and at the end an exit status that says
// whether any failed.
let failed = false;

export function check(name, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
  failed ||= !ok;
}

export function exitWithChecks() {
  process.exit(failed ? 1 : 0);
}
