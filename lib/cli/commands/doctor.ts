import type { Command } from 'commander';

import { doctor, formatDoctorReport } from '../../doctor.js';
import { printJson } from '../output.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .summary('check the system, libtorch, the addon and GPUs, and run one training step')
    .description('Report the system, the libtorch found (where, version, CUDA, how found), the addon and GPUs, and run one training step.')
    .option('--device <device>', "device of the smoke-test step: 'cpu' or 'cuda[:N]'", 'cpu')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (opts) => {
      const report = await doctor({ device: opts.device });
      if (opts.json) printJson(report);
      else process.stdout.write(formatDoctorReport(report) + '\n');
      if (!report.ok) process.exitCode = 1;
    });
}
