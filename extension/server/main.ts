/*
 * Entry of dist/server.js: `node dist/server.js --stdio` (or --node-ipc / --socket=N, as the
 * language client chooses). No vscode import: this is a plain Node process, tested over LSP.
 */
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { describeFailure } from './guard';
import { startServer } from './server';

const connection = createConnection(ProposedFeatures.all);

// A stray rejection must not end the process (Node's default); say where it came from instead.
process.on('unhandledRejection', (reason) => connection.console.error(describeFailure('a pending task', reason)));

startServer(connection);
connection.listen();
