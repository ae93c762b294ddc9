#!/usr/bin/env node
// The `kmem` command: the bundled CLI (run `npm run build` first when working from a checkout).
require('../dist/cli.js');
