// Konva 9 (the major version Peaks.js 4 supports) ships CommonJS (lib/) and a UMD build, but
// no ES module. Peaks.js's ES build imports konva/lib/Core, konva/lib/Animation and
// konva/lib/shapes/{Line,Rect,Text}; the import map in index.html sends all of them here.
// The UMD build, run as a module, defines globalThis.Konva with every class.
import "../../node_modules/konva/konva.min.js";

const Konva = globalThis.Konva;
export default Konva;
export const { Animation, Line, Rect, Text } = Konva;
