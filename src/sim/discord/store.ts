/**
 * What the Discord fake holds: channels (any snowflake is a guild text channel unless marked unknown),
 * DM channels per user, created messages, and the nonces seen in the last five minutes. The create
 * handlers answer exactly as Discord does, errors included.
 */
import {
  CODES,
  type CreateMessageBody,
  createDmSchema,
  createMessageSchema,
  type ErrorBody,
  messageProblems,
  type WireEmbed,
} from "./wire";

export interface RecordedMessage {
  id: string;
  channelId: string;
  /** Set when the channel is a DM channel: the user it belongs to. */
  dmUserId?: string;
  content: string;
  embeds: WireEmbed[];
  nonce?: string;
  at: number;
}

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

const DISCORD_EPOCH = 1_420_070_400_000n;
const BOT_ID = "1100000000000000001";
const NONCE_WINDOW_MS = 5 * 60_000;

export class Store {
  readonly sent: RecordedMessage[] = [];
  readonly unknownChannels = new Set<string>();
  readonly closedDms = new Set<string>();
  private readonly nonces = new Map<string, RecordedMessage>();
  private readonly dmByUser = new Map<string, string>();
  private readonly userByDm = new Map<string, string>();
  private idCounter = 0n;

  constructor(private readonly now: () => number) {}

  createMessage(channelId: string, raw: unknown): Reply {
    if (this.unknownChannels.has(channelId))
      return { status: 404, body: error("Unknown Channel", CODES.unknownChannel) };
    const parsed = createMessageSchema.safeParse(raw);
    if (!parsed.success)
      return { status: 400, body: formError({ _errors: [{ code: "DICT_TYPE_CONVERT" }] }) };
    const body: CreateMessageBody = parsed.data;
    const problems = messageProblems(body);
    if (Object.keys(problems).length > 0) return { status: 400, body: formError(problems) };
    if (!body.content && !(body.embeds?.length ?? 0)) {
      return { status: 400, body: error("Cannot send an empty message", CODES.emptyMessage) };
    }
    const dmUserId = this.userByDm.get(channelId);
    if (dmUserId && this.closedDms.has(dmUserId)) {
      return { status: 403, body: error("Cannot send messages to this user", CODES.cannotDmUser) };
    }
    const nonce = body.nonce === undefined ? undefined : String(body.nonce);
    const now = this.now();
    if (nonce !== undefined && body.enforce_nonce) {
      const earlier = this.nonces.get(nonce);
      if (earlier && now - earlier.at < NONCE_WINDOW_MS) return { status: 200, body: messageView(earlier) };
    }
    const m: RecordedMessage = {
      id: this.snowflake(),
      channelId,
      ...(dmUserId ? { dmUserId } : {}),
      content: body.content ?? "",
      embeds: body.embeds ?? [],
      ...(nonce !== undefined ? { nonce } : {}),
      at: now,
    };
    this.sent.push(m);
    if (nonce !== undefined) this.nonces.set(nonce, m);
    return { status: 200, body: messageView(m) };
  }

  createDm(raw: unknown): Reply {
    const parsed = createDmSchema.safeParse(raw);
    if (!parsed.success) return { status: 400, body: error("Invalid Recipient(s)", CODES.invalidRecipient) };
    const userId = parsed.data.recipient_id;
    let channelId = this.dmByUser.get(userId);
    if (!channelId) {
      channelId = this.snowflake();
      this.dmByUser.set(userId, channelId);
      this.userByDm.set(channelId, userId);
    }
    return {
      status: 200,
      body: {
        id: channelId,
        type: 1,
        last_message_id: null,
        flags: 0,
        recipients: [
          {
            id: userId,
            username: `user${userId.slice(-4)}`,
            global_name: null,
            discriminator: "0",
            avatar: null,
            public_flags: 0,
          },
        ],
      },
    };
  }

  private snowflake(): string {
    this.idCounter = (this.idCounter + 1n) & 0xfffn;
    return String(((BigInt(this.now()) - DISCORD_EPOCH) << 22n) | (1n << 17n) | this.idCounter);
  }
}

export function error(message: string, code: number = CODES.general): ErrorBody {
  return { message, code };
}

export function formError(errors: Record<string, unknown>): ErrorBody {
  return { message: "Invalid Form Body", code: CODES.invalidFormBody, errors };
}

export function botUser() {
  return {
    id: BOT_ID,
    username: "relay",
    global_name: null,
    discriminator: "0",
    avatar: null,
    bot: true,
    flags: 0,
  };
}

export function messageView(m: RecordedMessage) {
  return {
    id: m.id,
    type: 0,
    channel_id: m.channelId,
    author: botUser(),
    content: m.content,
    embeds: m.embeds,
    attachments: [],
    mentions: [],
    mention_roles: [],
    mention_everyone: false,
    pinned: false,
    tts: false,
    timestamp: new Date(m.at).toISOString(),
    edited_timestamp: null,
    flags: 0,
    components: [],
    ...(m.nonce !== undefined ? { nonce: m.nonce } : {}),
  };
}
