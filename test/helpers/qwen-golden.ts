/**
 * Qwen2.5 tokenizations from Hugging Face tokenizers (add_special_tokens=false). Qwen3 shares
 * the vocabulary and merges, so the demo model's tokenizer and the npm Qwen3 tokenizer give
 * these IDs too.
 */
export const QWEN_GOLDEN_TOKENIZATIONS: readonly { text: string; ids: readonly number[] }[] = [
  { text: "Hello, world!", ids: [9707, 11, 1879, 0] },
  { text: "1 + 1 = 2", ids: [16, 488, 220, 16, 284, 220, 17] },
  {
    text: "Multiple   spaces   between   words.",
    ids: [32089, 256, 12621, 256, 1948, 256, 4244, 13],
  },
  {
    text: "Tabs\tand\tnewlines\nlive\nhere",
    ids: [36985, 52477, 8638, 7969, 198, 24822, 198, 6739],
  },
  { text: "  leading and trailing  ", ids: [220, 6388, 323, 27748, 256] },
  {
    text: "def add(a, b):\n    return a + b",
    ids: [750, 912, 2877, 11, 293, 982, 262, 470, 264, 488, 293],
  },
  {
    text: "Café résumé naïve façade",
    ids: [34, 2577, 963, 9333, 1242, 963, 94880, 586, 94872, 1021],
  },
  { text: "日本語のテキスト", ids: [101059, 102819, 15767, 56833, 61803, 70534] },
  { text: "Привет, мир", ids: [53645, 26991, 8178, 11, 137144] },
  { text: "🚀 launch", ids: [145836, 7050] },
  {
    text: "Family: 👨\u200d👩\u200d👧\u200d👦",
    ids: [15192, 25, 61804, 101, 378, 235, 145233, 378, 235, 145665, 378, 235, 145988],
  },
  { text: "", ids: [] },
];
