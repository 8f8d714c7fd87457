import type { Command } from 'commander';

import { readDocuments } from '../../data/read-documents.js';
import { emptySplitReason } from '../../data/shards/shard-batches.js';
import { requireShardFolderFree, writeTokenShards } from '../../data/shards/shard-writer.js';
import { MaskmixError } from '../../errors.js';
import { trainBpe } from '../../tokenizer/bpe-trainer.js';
import { toTokenizerJson } from '../../tokenizer/tokenizer-json.js';
import { Tokenizer } from '../../tokenizer/tokenizer.js';
import { shardProgress } from '../shard-progress.js';
import { log, parseNumber, printJson } from '../output.js';

export function registerTokenize(program: Command): void {
  program
    .command('tokenize')
    .summary('pre-tokenise text/JSONL/Parquet files into compact token shards for training')
    .description(
      'Pre-tokenise documents (.txt, .jsonl, .parquet, and folders of them) into uint16/uint32 token shards with a ' +
        'train/validation split by document, streaming, so corpora larger than memory work. Train on the shards with ' +
        'an experiment config whose data is { "source": "shards", "dir": "<out>" }.',
    )
    .argument('<paths...>', 'files or folders of documents')
    .requiredOption('--out <dir>', 'folder for the shards (must be empty or new)')
    .option('--tokenizer <file>', 'an existing tokenizer.json')
    .option('--vocab <V>', 'train a byte-level BPE of V tokens instead, on the first --tokenizer-documents documents', parseNumber('--vocab', { integer: true, min: 258 }))
    .option('--tokenizer-documents <n>', 'documents to train the tokenizer on', parseNumber('--tokenizer-documents', { integer: true, min: 1 }), 20000)
    .option('--field <name>', 'JSONL/Parquet field with the text', 'text')
    .option('--val-fraction <f>', 'share of documents held out for validation (above 0: at least one of two or more)', parseNumber('--val-fraction', { min: 0, max: 0.99 }), 0.01)
    .option('--seed <s>', 'seed of the split', parseNumber('--seed', { integer: true, min: 0 }), 0)
    .option('--json', 'print the shard manifest on stdout')
    .option('--no-progress', 'no progress output')
    .addHelpText('after', '\nExample:\n  maskmix tokenize data/tinystories.parquet --vocab 4096 --out data/tinystories-shards')
    .action(async (paths: string[], opts) => {
      if ((opts.tokenizer === undefined) === (opts.vocab === undefined)) {
        throw new MaskmixError('INVALID_ARGUMENT', 'give --tokenizer <tokenizer.json> or --vocab <V>, one of the two');
      }
      // Before training a tokenizer, which can take minutes on a large corpus.
      requireShardFolderFree(opts.out);
      let tokenizer: Tokenizer;
      if (opts.tokenizer !== undefined) {
        tokenizer = Tokenizer.fromFile(opts.tokenizer);
      } else {
        const sample: string[] = [];
        for await (const doc of readDocuments(paths, { field: opts.field })) {
          sample.push(doc.text);
          if (sample.length >= opts.tokenizerDocuments) break;
        }
        log(`training a ${opts.vocab}-token byte-level BPE on ${sample.length} documents`);
        tokenizer = Tokenizer.fromJSON(toTokenizerJson(trainBpe(sample, { vocabSize: opts.vocab })));
      }
      const progress = shardProgress({ enabled: opts.progress });
      const manifest = await writeTokenShards(readDocuments(paths, { field: opts.field }), {
        outDir: opts.out,
        tokenizer,
        valFraction: opts.valFraction,
        seed: opts.seed,
        onProgress: (p) => progress.update(p),
      });
      progress.stop();
      const moved = manifest.split.moved;
      if (moved) {
        const share = moved.to === 'val' ? 'validation' : 'train';
        log(`no document's text hash fell on the ${share} side; moved ${moved.documents} document(s) there so that it is not empty`);
      }
      for (const side of ['train', 'val'] as const) {
        if (manifest[side].tokens === 0 && (side === 'train' || manifest.split.valFraction > 0)) {
          log(`warning: the ${side} split is empty: ${emptySplitReason(manifest, side)}`);
        }
      }
      if (opts.json) printJson(manifest);
      else log(`wrote ${manifest.train.tokens + manifest.val.tokens} tokens (train ${manifest.train.tokens}, val ${manifest.val.tokens}) to ${opts.out}`);
    });
}
