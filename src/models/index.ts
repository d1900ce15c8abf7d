// Importing this module registers every model family.
export * from './backbone.js';
export * from './registry.js';
import './levit.js';
import './vgg.js';
import './inception_v3.js';
import './efficientnet.js';
import './miewid.js';
import './coatnet.js';
