// A CHAT/1 client over TCP for the browser tests: lines are kept as they
// come, and a test waits (bounded) for the line that proves a state.
import net from 'node:net';

export class LineClient {
  // `wait`: ms any one line may take to come (the specs' WAIT).
  constructor(name, wait = 15_000) {
    this.name = name;
    this.wait = wait;
    this.lines = [];
    this.waiters = [];
    this.buffer = '';
  }

  connect(addr) {
    const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
    this.lines = [];
    this.buffer = '';
    return new Promise((resolve, reject) => {
      this.socket = net.connect({ host, port }, resolve);
      this.socket.once('error', reject);
      this.socket.setEncoding('utf8');
      this.socket.on('data', (chunk) => {
        this.buffer += chunk;
        let nl;
        while ((nl = this.buffer.indexOf('\n')) >= 0) {
          const line = this.buffer.slice(0, nl);
          this.buffer = this.buffer.slice(nl + 1);
          this.lines.push(line);
          this.check();
        }
      });
    });
  }

  send(line) {
    this.socket.write(line + '\n');
  }

  check() {
    for (const w of [...this.waiters]) {
      const i = this.lines.findIndex(w.pred);
      if (i >= 0) {
        const [line] = this.lines.splice(0, i + 1).slice(-1);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(line);
      }
    }
  }

  // Reads until a line satisfies `pred` (lines before it are skipped).
  waitFor(what, pred) {
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.name}: no line ${what} within ${this.wait} ms; unread: ${JSON.stringify(this.lines)}`));
      }, this.wait);
      this.waiters.push(w);
      this.check();
    });
  }

  waitLine(line) {
    return this.waitFor(JSON.stringify(line), (l) => l === line);
  }

  close() {
    if (this.socket) this.socket.destroy();
  }
}
