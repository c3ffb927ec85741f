import { Template } from "@huggingface/jinja";

import { ERRORS, HttpError } from "../http/errors.js";

/** Chat message as passed to the template, with its content always plain text. */
export interface TemplateMessage {
  role: string;
  content: string;
  [field: string]: unknown;
}

/**
 * ChatML, used when the GGUF file carries no `tokenizer.chat_template`, as llama.cpp's
 * server also falls back to it.
 */
const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Renders chat messages to prompt text with the model's Jinja chat template. */
export class ChatTemplate {
  readonly #template: Template;
  readonly #bosToken: string;
  readonly #eosToken: string;

  constructor(source: string | undefined, bosToken: string, eosToken: string) {
    this.#template = new Template(source ?? CHATML_TEMPLATE);
    this.#bosToken = bosToken;
    this.#eosToken = eosToken;
  }

  /** Renders the conversation and the assistant prefix the model continues from. */
  render(messages: readonly TemplateMessage[], tools: readonly unknown[] | undefined): string {
    try {
      return this.#template.render({
        messages,
        tools,
        add_generation_prompt: true,
        bos_token: this.#bosToken,
        eos_token: this.#eosToken,
      });
    } catch (error) {
      // Templates raise for conversations they do not accept (e.g. roles out of order).
      const reason = error instanceof Error ? error.message : String(error);
      throw new HttpError(
        ERRORS.requestInvalidParam,
        `the model's chat template rejected the messages: ${reason}`,
        {
          param: "messages",
          cause: error,
        },
      );
    }
  }
}
