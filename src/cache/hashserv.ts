import net from 'node:net';

/**
 * A small client of BitBake's hash-equivalence protocol (bitbake/lib/bb/asyncrpc and
 * lib/hashserv: a "OEHASHEQUIV 1.1" line, headers, a blank line, then one JSON message per line),
 * for what yoctoforge asks a server itself: is it alive, its statistics, its table sizes, and a
 * login for the read-write role. Raw TCP (`HOST:PORT`) and unix sockets; websocket addresses are
 * checked by BitBake's own client only.
 */
export class HashservClient {
  private socket?: net.Socket;
  private buffer = '';
  private waiting: Array<{ resolve: (line: string) => void; reject: (e: Error) => void }> = [];
  private lines: string[] = [];
  private closedError?: Error;

  private constructor(
    readonly address: string,
    private readonly timeoutMs: number,
  ) {}

  static async connect(address: string, timeoutMs = 5000): Promise<HashservClient> {
    const client = new HashservClient(address, timeoutMs);
    await client.open();
    return client;
  }

  private async open(): Promise<void> {
    const target = parseHashservAddress(this.address);
    await new Promise<void>((resolve, reject) => {
      const socket = 'path' in target ? net.createConnection(target.path) : net.createConnection(target.port, target.host);
      this.socket = socket;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no answer from ${this.address} within ${this.timeoutMs / 1000} s`));
      }, this.timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => this.onData(chunk));
      socket.on('close', () => this.fail(new Error(`${this.address} closed the connection`)));
      socket.on('error', (error) => this.fail(error));
    });
    this.socket!.write('OEHASHEQUIV 1.1\nneeds-headers: false\n\n');
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let at = this.buffer.indexOf('\n');
    while (at >= 0) {
      const line = this.buffer.slice(0, at);
      this.buffer = this.buffer.slice(at + 1);
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(line);
      else this.lines.push(line);
      at = this.buffer.indexOf('\n');
    }
  }

  private fail(error: Error): void {
    this.closedError ??= error;
    for (const w of this.waiting.splice(0)) w.reject(error);
  }

  private nextLine(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from ${this.address} within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
      this.waiting.push({
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** One request, one answer; a server-side refusal ("invoke-error") becomes an Error with its message. */
  async invoke(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.socket!.write(`${JSON.stringify(message)}\n`);
    let answer = JSON.parse(await this.nextLine()) as Record<string, unknown> | null;
    if (answer && 'chunk-stream' in answer) {
      const parts: string[] = [];
      for (let line = await this.nextLine(); line !== ''; line = await this.nextLine()) parts.push(line);
      answer = JSON.parse(parts.join('')) as Record<string, unknown>;
    }
    if (answer && typeof answer === 'object' && 'invoke-error' in answer) {
      throw new Error(String((answer['invoke-error'] as { message?: string }).message ?? 'refused'));
    }
    return answer ?? {};
  }

  async ping(): Promise<boolean> {
    return (await this.invoke({ ping: {} })).alive === true;
  }

  async auth(username: string, token: string): Promise<string[]> {
    const r = await this.invoke({ auth: { username, token } });
    return (r.permissions as string[]) ?? [];
  }

  /** request counters since the server started */
  async stats(): Promise<Record<string, unknown>> {
    return (await this.invoke({ 'get-stats': null })).requests as Record<string, unknown>;
  }

  /** rows per table (needs @db-admin): unihashes are the equivalences the server knows */
  async tableRows(): Promise<Record<string, number>> {
    const usage = (await this.invoke({ 'get-db-usage': null })).usage as Record<string, { rows: number }>;
    return Object.fromEntries(Object.entries(usage).map(([name, v]) => [name, v.rows]));
  }

  async newUser(username: string, permissions: string[]): Promise<string> {
    const r = await this.invoke({ 'new-user': { username, permissions } });
    return String(r.token);
  }

  /** the unihash the server holds for a task hash, or undefined */
  async get(method: string, taskhash: string): Promise<string | undefined> {
    const r = await this.invoke({ get: { method, taskhash, all: false } });
    return r && typeof r.unihash === 'string' ? r.unihash : undefined;
  }

  /** reports an output hash as BitBake does after a task ran; the server keeps it only for a user with @report */
  async report(method: string, taskhash: string, outhash: string, unihash: string): Promise<string | undefined> {
    const r = await this.invoke({ report: { taskhash, method, outhash, unihash } });
    return typeof r.unihash === 'string' ? r.unihash : undefined;
  }

  close(): void {
    this.socket?.end();
    this.socket?.destroy();
  }
}

/** `HOST:PORT`, `[IPV6]:PORT` or `unix://PATH`; websocket addresses are refused here. */
export function parseHashservAddress(address: string): { host: string; port: number } | { path: string } {
  if (address.startsWith('unix://')) return { path: address.slice('unix://'.length) };
  if (/^wss?:\/\//.test(address)) throw new Error(`${address}: websocket servers are checked by BitBake's client only`);
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
  if (!m) throw new Error(`${address}: expected HOST:PORT`);
  return { host: m[1] || 'localhost', port: Number(m[2]) };
}
