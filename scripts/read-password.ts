import { createInterface } from "node:readline";

/**
 * Reads a password: on a terminal without echoing it (raw mode, the prompt on stderr so stdout
 * stays the result), from a pipe as its first line (for scripts). Ctrl-C stops the process.
 */
export function readPassword(prompt: string): Promise<string> {
  return process.stdin.isTTY ? readHidden(prompt) : readFirstLine();
}

function readFirstLine(): Promise<string> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin, terminal: false });
    let answered = false;
    lines.once("line", (line) => {
      answered = true;
      lines.close();
      resolve(line);
    });
    lines.once("close", () => {
      if (!answered) resolve("");
    });
  });
}

/** What was typed ahead, after the line that answered the previous prompt. */
let typedAhead = "";

function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  stdin.setRawMode(true); // before the prompt: what is typed once it shows is never echoed
  process.stderr.write(prompt);
  stdin.setEncoding("utf8");
  let typed = "";
  return new Promise((resolve) => {
    const finish = (rest: string) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      typedAhead = rest;
      resolve(typed);
    };
    const onData = (chunk: string) => {
      const chars = [...chunk];
      for (const [index, char] of chars.entries()) {
        if (char === "\r" || char === "\n" || char === "\u0004") {
          return finish(chars.slice(index + 1).join(""));
        }
        if (char === "\u0003") {
          stdin.setRawMode(false);
          process.stderr.write("\n");
          process.exit(130);
        }
        if (char === "\u007f" || char === "\b") typed = [...typed].slice(0, -1).join("");
        else if (char >= " ") typed += char;
      }
    };
    stdin.on("data", onData);
    stdin.resume();
    const ahead = typedAhead;
    typedAhead = "";
    if (ahead) onData(ahead);
  });
}
