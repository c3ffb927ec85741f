import { z } from "zod";

import { unsupportedParam } from "../../http/errors.js";
import type { ChatTemplate, TemplateMessage } from "../chat-template.js";
import { commonFields } from "./common-fields.js";
import type { PromptTokenizer } from "./completion-request.js";
import {
  resolveMaxTokens,
  resolveRequestSettings,
  type GenerationRequest,
} from "./generation-request.js";
import { parseBody } from "../../http/parse-body.js";

const contentPart = z.looseObject({ type: z.string(), text: z.string().optional() });

const messageSchema = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
  name: z.string().optional(),
});

const chatSchema = z.object({
  ...commonFields,
  messages: z.array(messageSchema).min(1, { error: "messages must contain at least one message" }),
  max_completion_tokens: z.number().int({ error: "expected an integer" }).min(0).nullish(),
  tools: z.array(z.looseObject({ type: z.string() })).nullish(),
  tool_choice: z.unknown().optional(),
  response_format: z.looseObject({ type: z.string() }).nullish(),
});

/** Validates a `/v1/chat/completions` body, renders the chat template and tokenizes it. */
export function parseChatRequest(
  body: unknown,
  model: PromptTokenizer,
  template: ChatTemplate,
): GenerationRequest {
  const fields = parseBody(chatSchema, body);
  if (fields.response_format != null && fields.response_format.type !== "text") {
    throw unsupportedParam(
      "response_format",
      `response_format '${fields.response_format.type}' is not supported; only 'text' is`,
    );
  }

  const settings = resolveRequestSettings(fields, model.vocabSize);
  const messages = fields.messages.map((message, index) => toTemplateMessage(message, index));
  const promptText = template.render(messages, fields.tools ?? undefined);
  const promptIds = model.tokenize(promptText);

  const requested = fields.max_completion_tokens ?? settings.requestedMaxTokens;
  const maxTokens = resolveMaxTokens(promptIds.length, requested, model.contextSize, undefined);
  return { ...settings, promptIds, maxTokens };
}

function toTemplateMessage(
  message: z.output<typeof messageSchema>,
  index: number,
): TemplateMessage {
  const { content, ...rest } = message;
  return { ...rest, content: contentText(content, index) };
}

/** Joins text parts; other part types (images, audio) need a multimodal model. */
function contentText(content: z.output<typeof messageSchema>["content"], index: number): string {
  if (content == null) return "";
  if (typeof content === "string") return content;

  return content
    .map((part, partIndex) => {
      if (part.type !== "text" || part.text === undefined) {
        throw unsupportedParam(
          `messages.${index}.content.${partIndex}`,
          `content part type '${part.type}' is not supported; this model accepts text only`,
        );
      }
      return part.text;
    })
    .join("");
}
