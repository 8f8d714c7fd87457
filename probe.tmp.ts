import * as hf from 'tokenizers';
import { trainBpe } from './lib/tokenizer/bpe-trainer.js';
import { toTokenizerJson } from './lib/tokenizer/tokenizer-json.js';
const tok = hf.Tokenizer.fromString(JSON.stringify(toTokenizerJson(trainBpe(['hello world hello'], { vocabSize: 260 }))));
const e = await tok.encode('', null, { addSpecialTokens: false }); console.log(e.getIds());
try { await tok.decode([1000], false); console.log('no throw'); } catch (err) { console.log('throws', String(err)); }
console.log(JSON.stringify(await tok.decode([0, 1, 200], false)), JSON.stringify(await tok.decode([0, 72], true)));
const b = await tok.encodeBatch(['hello', 'world', ''], { addSpecialTokens: false }); console.log(b.map(x => x.getIds()));
try { hf.Tokenizer.fromString('{"a":1}'); } catch (err) { console.log('bad', String(err).slice(0, 200)); }
console.log(tok.getVocabSize(true), tok.getVocabSize(false), tok.tokenToId('<|endoftext|>'));
