// The 24 keys on the Camelot wheel, spelled as the server names them (core/keys.py).
export const CAMELOT = [
  ["1A", "Ab minor"], ["1B", "B major"], ["2A", "Eb minor"], ["2B", "F# major"],
  ["3A", "Bb minor"], ["3B", "C# major"], ["4A", "F minor"], ["4B", "Ab major"],
  ["5A", "C minor"], ["5B", "Eb major"], ["6A", "G minor"], ["6B", "Bb major"],
  ["7A", "D minor"], ["7B", "F major"], ["8A", "A minor"], ["8B", "C major"],
  ["9A", "E minor"], ["9B", "G major"], ["10A", "B minor"], ["10B", "D major"],
  ["11A", "F# minor"], ["11B", "A major"], ["12A", "C# minor"], ["12B", "E major"],
];
