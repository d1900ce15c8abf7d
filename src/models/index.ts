// Importing this module registers every model family.
export * from './backbone.js';
export * from './registry.js';
import './levit.js';
