/**
 * A byte-level BPE vocabulary as GPT-2's converter writes it (llama.cpp's "gpt2" tokenizer, as BioMedLM
 * converts): the 256 byte characters of GPT-2's `bytes_to_unicode` (space is "Ġ", newline "Ċ"), merged
 * word pieces with their merges, and `<|endoftext|>` last (BioMedLM: id 28,895 of 28,896, BOS = EOS).
 *
 * llama.cpp's BPE tokenizer pre-splits text with GPT-2's regex, then repeatedly applies the adjacent pair
 * of lowest merge rank. Every word gets a chain of merges that builds it left to right ("Ġ p", "Ġp a",
 * …); all "Ġword" chains rank before the bare-word chains, so a word after a space always comes out
 * whole (the pair at its start always outranks any pair inside it). Any text tokenizes: unknown words
 * fall back to shorter pieces and, at worst, to byte characters.
 */
import { SeededRandom } from "./seededTensors";
import { CLINICAL_WORDS, TokenType } from "./vocabulary";

export const END_OF_TEXT = "<|endoftext|>";

/** GPT-2's byte → character table (openai/gpt-2 encoder.py `bytes_to_unicode`), in its token order. */
export function gpt2ByteCharacters(): Array<{ byte: number; char: string }> {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = printable.map((byte) => ({ byte, char: String.fromCharCode(byte) }));
  let n = 0;
  for (let byte = 0; byte < 256; byte++) {
    if (printable.includes(byte)) continue;
    table.push({ byte, char: String.fromCharCode(256 + n) });
    n++;
  }
  return table;
}

/** The byte-level form of ASCII text (what the vocabulary stores): space → "Ġ", newline → "Ċ". */
export function byteLevel(text: string): string {
  const map = new Map(gpt2ByteCharacters().map(({ byte, char }) => [byte, char]));
  return Array.from(Buffer.from(text, "utf8"), (b) => map.get(b) as string).join("");
}

export interface Gpt2Vocabulary {
  readonly tokens: readonly string[];
  readonly types: Int32Array;
  readonly merges: readonly string[];
  readonly endOfText: number;
}

export interface Gpt2VocabularyOptions {
  readonly words?: readonly string[];
  /** Pad with made-up word pieces (and their merges) up to this many tokens, `<|endoftext|>` included. */
  readonly size?: number;
  readonly seed?: number;
}

const ONSETS = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "cl", "st", "tr", "ph", "th"];
const VOWELS = ["a", "e", "i", "o", "u", "ia", "io", "ae", "ou"];
const CODAS = ["", "", "n", "l", "s", "r", "x", "m", "st", "ct"];

export function buildGpt2Vocabulary(options: Gpt2VocabularyOptions = {}): Gpt2Vocabulary {
  const words = options.words ?? CLINICAL_WORDS;
  const tokens: string[] = gpt2ByteCharacters().map(({ char }) => char);
  const seen = new Set(tokens);
  const spaced: string[] = [];
  const bare: string[] = [];
  const limit = options.size === undefined ? Infinity : options.size - 1; // room for <|endoftext|>

  /** Adds the merges that build `piece` left to right, and the pieces they make, into `merges`. */
  const chain = (piece: string, merges: string[]): void => {
    const chars = Array.from(piece);
    let left = chars[0] as string;
    for (let i = 1; i < chars.length; i++) {
      const next = left + chars[i];
      if (!seen.has(next)) {
        if (tokens.length >= limit) return;
        seen.add(next);
        tokens.push(next);
        merges.push(`${left} ${chars[i]}`);
      }
      left = next;
    }
  };
  const capitalize = (w: string): string => w.charAt(0).toUpperCase() + w.slice(1);

  const G = byteLevel(" ");
  for (let c = 0x21; c < 0x7f; c++) chain(G + String.fromCharCode(c), spaced);
  chain(byteLevel("\n\n"), spaced);
  for (const word of words) {
    for (const form of new Set([word, capitalize(word)])) {
      chain(byteLevel(` ${form}`), spaced);
      chain(byteLevel(form), bare);
    }
  }
  if (options.size !== undefined) {
    if (tokens.length >= limit) throw new Error(`a vocabulary of ${options.size} is too small for these words`);
    const rng = new SeededRandom(options.seed ?? 1);
    while (tokens.length < limit) {
      let word = "";
      const syllables = 1 + rng.nextInt(3);
      for (let i = 0; i < syllables; i++) {
        word += ONSETS[rng.nextInt(ONSETS.length)]! + VOWELS[rng.nextInt(VOWELS.length)]! + CODAS[rng.nextInt(CODAS.length)]!;
      }
      chain(byteLevel(` ${word}`), spaced);
    }
  }
  const types = tokens.map(() => TokenType.NORMAL as number);
  tokens.push(END_OF_TEXT);
  types.push(TokenType.CONTROL);
  return { tokens, types: Int32Array.from(types), merges: [...spaced, ...bare], endOfText: tokens.length - 1 };
}
