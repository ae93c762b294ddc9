#!/usr/bin/env node
// The `kmem` command: the bundled CLI (run `npm run build` first when working from a checkout).
process.exitCode = require('../dist/cli.js').main(process.argv.slice(2));
