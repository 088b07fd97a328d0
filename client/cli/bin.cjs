#!/usr/bin/env node
// The `sms-consent` command: runs the TypeScript CLI through tsx, so the package needs no build step.
require('tsx/cjs');
require('./main.ts').runCli();
