// finprint as a library: `import { createModel, Trainer, embedPhotos } from 'finprint'`, the
// library layers from the engine up to export. The run-folder workflow the commands use (training
// runs, opening a run, evaluate/predict/identify) is the application entry point 'finprint/runs'.

// engine, layers, optimisers
export * as torch from './torch/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export { loadSafetensors, saveSafetensors } from './io/safetensors.js';

// models: timm's families and names, the heads
export { createModel, listModels, modelEntry, checkInputSize, type Backbone, type ModelEntry, type ModelOptions } from './models/index.js';
export { loadWeights } from './models/weights.js';

// data
export { readCompetition, NEW_INDIVIDUAL, type Competition, type TrainRow, type TestImage } from './data/happywhale.js';
export { synthesize, SYNTH_DEFAULTS, type SynthOptions, type SynthSummary } from './data/synth/index.js';
export { ImagePipeline, type Batch, type Sample } from './data/pipeline.js';
export { BatchLoader } from './data/loader.js';
export { individualSplit, stratifiedSplit } from './data/split.js';

// metrics
export { map5 } from './eval/map5.js';
export { identificationMetrics, confusionMatrix, type IdentificationMetrics } from './eval/metrics.js';
export { calibrateThreshold, predictWithThreshold, type Candidate, type Calibration } from './eval/threshold.js';
export type { Evaluation as EvaluationReport, EvaluationSummary } from './eval/summary.js';

// training: the Keras-style loop and callbacks, transfer learning, tasks, the recipe's config
export { Trainer, type TrainerOptions, type StepResult } from './train/trainer.js';
export { CSVLogger, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN, Callback, type Logs } from './train/callbacks/index.js';
export { TransferModel, paramGroups, countParameters, type TrainableBlocks } from './train/transfer.js';
export { createTask, TASKS, type Task, type TaskName, type Labels, type Evaluation } from './train/tasks.js';
export { resolveConfig, DEFAULT_CONFIG, type TrainConfig } from './train/config.js';

// identification and detection
export { ENGINES, type TrainedModel, type InferenceEngine, type EngineOutputs, type EngineName } from './identify/model.js';
export { embedPhotos, type Embedded, type EmbedOptions } from './identify/embed.js';
export { searchGallery } from './identify/search.js';
export { galleryOf, extendGallery, type Gallery } from './identify/gallery.js';
export { matchEmbeddings } from './identify/match.js';
export { writeSubmission, readSolution, scoreSubmission } from './identify/submission.js';
export { Detector } from './detect/detector.js';

// the catalogue: individuals, encounters, photos, decisions, behind one storage interface
export { Catalogue, type CatalogueSetup, type Candidates, type PhotoIntake } from './catalogue/catalogue.js';
export type { CatalogueStore } from './catalogue/store.js';
export { SqliteStore } from './catalogue/sqlite_store.js';
export { modelEmbedder, type PhotoEmbedder } from './catalogue/embedder.js';

// ONNX: any module written as ONNX (opset 17, dynamic batch) by tracing its forward pass; ONNX Runtime as an inference engine
export { exportOnnx, ONNX_OPSET, type ExportOptions, type OnnxExport, type Normalization as OnnxNormalization } from './export/export.js';
export { exportTask, exportDetector, taskOutputs, pixelPipeline, type TrainedExportOptions } from './export/trained.js';
export { OrtModel, checkExport, type OrtOptions } from './export/ort.js';
export { onnxEngine } from './export/engine.js';
export { readModelSummary, type OnnxSummary } from './export/onnx_proto.js';
