export { Callback, Monitor, type Logs, type Mode, type TrainingContext } from './callback.js';
export { ModelCheckpoint, type ModelCheckpointOptions } from './model_checkpoint.js';
export { EarlyStopping, type EarlyStoppingOptions } from './early_stopping.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './reduce_lr_on_plateau.js';
export { CSVLogger } from './csv_logger.js';
export { TerminateOnNaN } from './terminate_on_nan.js';
