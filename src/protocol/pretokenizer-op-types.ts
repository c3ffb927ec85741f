/**
 * The ops of a pre-tokenizer program, as they appear in a map. Each op stands for one
 * alternative of a GPT-2-family pre-tokenizer regex; pretokenizer-ops.ts runs them.
 */

/** Longest listed literal, ASCII case-insensitive: the regex `(?i:p1|p2|…)`. */
export interface LiteralsCiOp {
  op: "literals_ci";
  patterns: string[];
}

/** Longest listed literal, case-sensitive: `p1|p2|…`. */
export interface LiteralsOp {
  op: "literals";
  patterns: string[];
}

/**
 * A letter run with an optional lead character. `lead_other` allows one lead that is not CR, LF
 * or a letter, and with `lead_other_class` `"l_n"` (the default) not a number either, with
 * `"l_p_s"` not punctuation or a symbol either. `lead_space` allows one leading U+0020. `body`
 * `"L"` (the default) is `\p{L}+`, `"L_M"` is `[\p{L}\p{M}]+`.
 */
export interface LettersOp {
  op: "letters";
  lead_other?: boolean;
  lead_space?: boolean;
  lead_other_class?: "l_n" | "l_p_s";
  body?: "L" | "L_M";
}

/**
 * A letter run split at case changes, as in o200k_base: `title` is
 * `[Lu Lt Lm Lo M]*[Ll Lm Lo M]+`, `upper` is `[Lu Lt Lm Lo M]+[Ll Lm Lo M]*`, optionally after
 * one lead character (as `letters` with `lead_other`) and followed by one of `trailing_ci`
 * (ASCII case-insensitive).
 */
export interface LettersCasedOp {
  op: "letters_cased";
  kind: "title" | "upper";
  lead_other?: boolean;
  trailing_ci?: string[];
}

/** `\p{N}+`, or `\p{N}{1,max_run}`, optionally after one leading U+0020. */
export interface NumbersOp {
  op: "numbers";
  max_run?: number;
  lead_space?: boolean;
}

/**
 * ` ?[^\s\p{L}\p{N}]+[\r\n]*`: a run of characters that are not whitespace, letters or numbers
 * (`charset` `"p_s"` makes it `[\p{P}\p{S}]+`), with an optional leading U+0020 and trailing
 * CR/LF (`trailing_newlines`) or trailing characters from `trailing_chars`.
 */
export interface PunctRunOp {
  op: "punct_run";
  lead_space?: boolean;
  trailing_newlines?: boolean;
  trailing_chars?: string;
  charset?: "not_ws_L_N" | "p_s";
}

/** One ASCII punctuation character, then ASCII letters: ``[!-\/:-@\[-`{-~][A-Za-z]+``. */
export interface PunctAsciiLettersOp {
  op: "punct_ascii_letters";
}

/** `\s*[\r\n]+`: whitespace that ends with a run of newlines. */
export interface NewlineBlockOp {
  op: "newline_block";
}

/** `\s+(?!\S)`: whitespace not followed by a non-whitespace character. */
export interface TrailingWsOp {
  op: "trailing_ws";
}

/** `\s+`. */
export interface WsRunOp {
  op: "ws_run";
}

/** One op of an alternation: a v1 program's op list or a v2 `alternation` stage. */
export type AlternationOp =
  | LiteralsCiOp
  | LiteralsOp
  | LettersOp
  | LettersCasedOp
  | NumbersOp
  | PunctRunOp
  | PunctAsciiLettersOp
  | NewlineBlockOp
  | TrailingWsOp
  | WsRunOp;
