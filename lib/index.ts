/** maskmix: masked mixer language models on libtorch, from TypeScript. */
export { MaskmixError, type MaskmixErrorCode } from './errors.js';
export { Tensor, type DType, type TypedArray } from './tensor.js';
export { LanguageModel, type TokenBatch, type SamplingOptions } from './model.js';
export {
  AUTOENCODER_VARIANTS,
  resolveModelConfig,
  REPEAT_STRUCTURES,
  type AutoencoderConfig,
  type ModelConfig,
  type ModelConfigInput,
  type RepeatStructure,
} from './model-config.js';
export { Trainer, type TrainConfig, type TrainConfigInput, type StepResult, type DataParallelOptions } from './trainer.js';
export { trainLoop, evaluate, type TrainLoopOptions, type TrainLoopResult, type StepProgress } from './train-loop.js';
export { generate, generateTokens, type GenerateOptions, type GeneratedToken } from './generate.js';
export { Decoder, type DecoderMode, type DecoderOptions, type DecodeResult, type DecodeSampling } from './decode/decoder.js';
export { TokenStream } from './decode/token-stream.js';
export { scoreTokens, type TokenScores } from './score.js';
export { saveModel, loadModel, saveWeights, loadWeights, readWeights, readModelConfig } from './checkpoint.js';
export { openRun, type OpenRun } from './run-loader.js';
export { quickstart, QUICKSTART_DEFAULTS, type QuickstartOptions, type QuickstartSummary } from './quickstart.js';
export { trainBrown, TRAIN_DEFAULTS, type TrainBrownOptions, type TrainBrownSummary } from './train-brown.js';
export { initDistributed, type Distributed, type InitDistributedOptions } from './dist/init.js';
export { distributedEnv, type DistributedEnv } from './dist/env.js';
export { ProcessGroup, type ProcessGroupOptions } from './dist/process-group.js';
export { distributedBatches } from './dist/sampler.js';
export { isRankZero, logOnRankZero, onRankZero, saveModelOnRankZero } from './dist/rank-zero.js';
export { launch, type LaunchOptions, type LaunchResult } from './dist/launch.js';
export { describeFailure, type RankFailure } from './dist/rank-failure.js';
export { doctor, type DoctorReport } from './doctor.js';
export { native, type RuntimeInfo } from './native.js';
export { Tokenizer } from './tokenizer/tokenizer.js';
export { trainBpe, END_OF_TEXT, type BpeTrainOptions, type TrainedBpe } from './tokenizer/bpe-trainer.js';
export { toTokenizerJson } from './tokenizer/tokenizer-json.js';
export { loadBrownCorpus } from './data/brown.js';
export { loadTextCorpus } from './data/text-corpus.js';
export { splitDocuments, packSequences, unigramEntropy, type PackedSequences } from './data/corpus.js';
export { batches, BatchIterator, type BatchPosition, type BatchIteratorOptions } from './data/batches.js';
export { prepareBrownDataset, type BrownDataset, type BrownDatasetOptions } from './data/brown-dataset.js';
export { mulberry32 } from './data/random.js';
export { readDocuments, documentFiles, documentFormatOf, type DocumentFormat, type ReadDocumentsOptions } from './data/read-documents.js';
export { asDocuments, type SourceDocument, type DocumentStream, type DocumentInput } from './data/document-source.js';
export { readTextDocuments, type TextSplit, type TextSourceOptions } from './data/text-source.js';
export { readJsonlDocuments, type JsonlSourceOptions } from './data/jsonl-source.js';
export { readParquetDocuments, parquetFileInfo, type ParquetSourceOptions, type ParquetFileInfo } from './data/parquet-source.js';
export { writeTokenShards, type TokenEncoder, type ShardProgress, type WriteShardsOptions } from './data/shards/shard-writer.js';
export { ShardBatchLoader, type ShardLoaderOptions, type ShardPosition } from './data/shards/shard-batches.js';
export { readShardManifest, type ShardManifest, type ShardSplitName } from './data/shards/shard-manifest.js';
export { verifyTokenShards } from './data/shards/verify-shards.js';
export { writeReport, type WrittenReport } from './report/write-report.js';
export { renderReport, type ReportOptions } from './report/report-html.js';
export { readRunRecord, type RunRecord, type MetricsPoint } from './report/run-record.js';
export { runStats, type RunStats } from './report/run-stats.js';
export { runExperiment, readRunExperiment, type ExperimentSummary, type RunExperimentOptions } from './experiment/run-experiment.js';
export { resolveExperimentConfig, readExperimentConfig, experimentConfigSchema, type ExperimentConfig, type ExperimentConfigInput } from './experiment/experiment-config.js';
export { compare, sweepExperiments, formatCompareTable, type CompareOptions, type CompareResult } from './experiment/compare.js';
export { saveTrainingCheckpoint, loadTrainingCheckpoint, findCheckpoint, type LoopState } from './experiment/training-checkpoint.js';
export type { CheckpointModel, CheckpointTrainer } from './experiment/training-checkpoint.js';
export { evaluateReconstruction, reconstruct, type ReconstructionStats } from './autoencoder.js';
export { syntheticTask, syntheticBatch, SYNTHETIC_TASKS, SYNTHETIC_PAD, SYNTHETIC_SEPARATOR, type SyntheticTask, type SyntheticTaskName, type SyntheticBatch, type SyntheticTaskOptions } from './synthetic/synthetic-tasks.js';
export { answerAccuracy, scoreAnswers, evaluateSynthetic, type SyntheticScore } from './synthetic/synthetic-eval.js';
export { runSynthetic, formatSyntheticTable, type SyntheticRunOptions, type SyntheticRun, type SyntheticResult } from './synthetic/run-synthetic.js';
export { readModelSet, resolveModelSet, namedModelSet, selectModels, completeModelConfig, modelSetSchema, type ModelSet, type ModelSetEntry } from './synthetic/model-set.js';
export { modelSetExperiments } from './experiment/model-set-experiments.js';
export { invertInput, INVERSION_DEFAULTS, type InversionOptions, type InversionResult } from './inversion.js';
export { multiTokenLosses } from './multi-token.js';
export { LINEAR_PATTERNS, type LinearPattern, type LinearConfig } from './model-config.js';
export { LINEAR_SOLVES, type LinearSolveName } from './model-config.js';
export type { LossObjective } from './model.js';
export { embed, leftPad, type EmbedOptions, type EmbeddingToken } from './retrieval/embed.js';
export { topOneAccuracy, embeddingTopOne, formatTopOneTable, normalizeRows, TABLE_SIZES, type Embeddings, type TopOneResult } from './retrieval/top-one.js';
export { readRetrievalPairs, brownRetrievalPairs, splitPairs, splitSentences, type RetrievalPair, type BrownPairsOptions } from './retrieval/pairs.js';
export { contrastiveBatches, type TokenizedPair, type ContrastiveBatchOptions } from './retrieval/contrastive-batches.js';
export { evaluateRetrieval, fineTuneRetrieval, type RetrievalEvalOptions, type RetrievalTrainOptions } from './retrieval/retrieval-run.js';
export { indirectRetrievalSamples, stackIndirectSamples, type IndirectSample, type IndirectSampleOptions } from './retrieval/indirect-samples.js';
export { RetrievalMixer, RetrievalTrainer, retrievalMixerConfigSchema, type RetrievalMixerConfig, type RetrievalMixerConfigInput, type RetrievalTrainConfigInput, type IndirectBatch } from './retrieval/retrieval-mixer.js';
export { trainIndirectRetrieval, evaluateIndirectRetrieval, shuffledIndirectSamples, type EmbeddedPairs, type IndirectEvalResult, type IndirectEvalOptions, type IndirectTrainOptions } from './retrieval/indirect-run.js';
export { resumableSteps, type RetrievalCheckpointOptions, type ResumableStepsOptions, type TrainingTime } from './retrieval/resumable-steps.js';
