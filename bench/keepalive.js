#!/usr/bin/env node
// Runs the tsbpf CLI with one idle timer holding the event loop open. Used by
// the bench only when the runtime exits by itself right after attaching a
// script that has no events to read (nothing else keeps Node's loop alive);
// the CLI still exits through process.exit when the script finishes.
'use strict';
setInterval(() => {}, 1 << 30);
require('../dist/src/cli/entry.js');
