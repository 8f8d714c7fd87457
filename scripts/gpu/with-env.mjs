// Runs fn with environment variables set (the addon reads its MASKMIX_* switches when it builds or captures), then
// removes them: how the GPU check scripts compare one code path with another in one process.
export async function withEnvs(env, fn) {
  for (const [k, v] of Object.entries(env)) process.env[k] = v;
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
  }
}
