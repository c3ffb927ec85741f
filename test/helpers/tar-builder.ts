/**
 * Writes tar archives byte by byte, including ones no well-behaved tool would produce
 * (absolute paths, `..` members, links, devices, PAX headers that rename a member). Headers
 * follow the POSIX ustar layout: 512-byte blocks, octal numeric fields, and a checksum that is
 * the byte sum of the header with the checksum field read as eight spaces.
 */

/** Ustar type flags. */
export const TAR_TYPE = {
  file: "0",
  hardLink: "1",
  symlink: "2",
  charDevice: "3",
  blockDevice: "4",
  directory: "5",
  fifo: "6",
  paxHeader: "x",
  paxGlobalHeader: "g",
  gnuLongName: "L",
} as const;

export interface TarMember {
  path: string;
  type?: string;
  body?: Buffer | string;
  linkpath?: string;
  mode?: number;
  /** Size written in the header; defaults to the body length. */
  declaredSize?: number;
  /** Written into the `prefix` field (ustar paths longer than 100 bytes). */
  prefix?: string;
}

const BLOCK = 512;

/** Builds one 512-byte ustar header with a correct checksum. */
export function ustarHeader(member: TarMember): Buffer {
  const header = Buffer.alloc(BLOCK);
  const body = toBuffer(member.body);
  writeString(header, 0, 100, member.path);
  writeOctal(header, 100, 8, member.mode ?? (member.type === TAR_TYPE.directory ? 0o755 : 0o644));
  writeOctal(header, 108, 8, 1000);
  writeOctal(header, 116, 8, 1000);
  writeOctal(header, 124, 12, member.declaredSize ?? body.length);
  writeOctal(header, 136, 12, 1_700_000_000);
  header.write(member.type ?? TAR_TYPE.file, 156, 1, "latin1");
  writeString(header, 157, 100, member.linkpath ?? "");
  header.write("ustar\u000000", 257, 8, "latin1");
  writeString(header, 265, 32, "user");
  writeString(header, 297, 32, "group");
  writeString(header, 345, 155, member.prefix ?? "");

  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "latin1");
  return header;
}

/** Builds a member: its header followed by its body padded to whole blocks. */
export function tarMember(member: TarMember): Buffer {
  const body = toBuffer(member.body);
  const padding = (BLOCK - (body.length % BLOCK)) % BLOCK;
  return Buffer.concat([ustarHeader(member), body, Buffer.alloc(padding)]);
}

/** PAX extended header records: `<length> <key>=<value>\n`, where the length counts the whole record. */
export function paxRecords(fields: Record<string, string>): Buffer {
  const records = Object.entries(fields).map(([key, value]) => {
    const rest = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(rest) + 1;
    while (String(length).length + Buffer.byteLength(rest) !== length)
      length = String(length).length + Buffer.byteLength(rest);
    return `${length}${rest}`;
  });
  return Buffer.from(records.join(""), "utf8");
}

/** Builds a whole archive: the members, then two zero blocks unless `endBlocks` is false. */
export function buildTar(members: TarMember[], options: { endBlocks?: boolean } = {}): Buffer {
  const parts = members.map(tarMember);
  if (options.endBlocks !== false) parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

function toBuffer(body: Buffer | string | undefined): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  return typeof body === "string" ? Buffer.from(body, "utf8") : body;
}

function writeString(header: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > length) throw new Error(`'${value}' does not fit a ${length}-byte tar field`);
  bytes.copy(header, offset);
}

function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  header.write(`${value.toString(8).padStart(length - 1, "0")}\u0000`, offset, length, "latin1");
}
