/** The in-memory backend against the rules every backend keeps. */
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { runBackendConformance } from './conformance.ts';

runBackendConformance('memory', async () => new MemoryBackend());
