/*
 * A small TextMate tokenizer for tests: enough of the rules VS Code applies (match, begin/end with a
 * rule stack across lines, captures, includes, earliest match wins, ties go to the end pattern and
 * then to the first listed pattern) to check what scopes a line gets, with JavaScript regexes
 * instead of Oniguruma. Not a replacement for vscode-textmate; the grammar keeps to the regex
 * subset both engines read the same way.
 */

export interface Capture {
  name?: string;
}

export interface Rule {
  name?: string;
  comment?: string;
  match?: string;
  begin?: string;
  end?: string;
  while?: string;
  captures?: Record<string, Capture>;
  beginCaptures?: Record<string, Capture>;
  endCaptures?: Record<string, Capture>;
  patterns?: Rule[];
  include?: string;
}

export interface Grammar extends Rule {
  scopeName: string;
  repository?: Record<string, Rule>;
}

export interface Token {
  text: string;
  start: number;
  scopes: string[];
}

/** Every regex source in the grammar, with where it sits ("repository.number.patterns[0].match"). */
export function regexSources(rule: unknown, where = ''): { where: string; source: string }[] {
  const found: { where: string; source: string }[] = [];
  if (Array.isArray(rule)) {
    rule.forEach((item, i) => found.push(...regexSources(item, `${where}[${i}]`)));
  } else if (typeof rule === 'object' && rule !== null) {
    for (const [key, value] of Object.entries(rule)) {
      const at = where ? `${where}.${key}` : key;
      if ((key === 'match' || key === 'begin' || key === 'end' || key === 'while') && typeof value === 'string') {
        found.push({ where: at, source: value });
      } else {
        found.push(...regexSources(value, at));
      }
    }
  }
  return found;
}

/** Every `include` in the grammar. */
export function includes(rule: unknown): string[] {
  if (Array.isArray(rule)) {
    return rule.flatMap(includes);
  }
  if (typeof rule === 'object' && rule !== null) {
    return Object.entries(rule).flatMap(([key, value]) =>
      key === 'include' && typeof value === 'string' ? [value] : includes(value),
    );
  }
  return [];
}

interface Frame {
  rule: Rule;
  scopes: string[];
}

export class Tokenizer {
  private readonly compiled = new Map<string, RegExp>();

  constructor(private readonly grammar: Grammar) {}

  /** Tokenizes `lines` in order, carrying open begin/end rules from line to line. */
  tokenize(lines: string[]): Token[][] {
    const stack: Frame[] = [{ rule: this.grammar, scopes: [this.grammar.scopeName] }];
    return lines.map((line) => this.tokenizeLine(line, stack));
  }

  private regex(source: string): RegExp {
    let re = this.compiled.get(source);
    if (re === undefined) {
      re = new RegExp(source, 'dg');
      this.compiled.set(source, re);
    }
    return re;
  }

  /** The match/begin rules reachable from `patterns`, includes resolved, in listed order. */
  private leaves(patterns: Rule[] | undefined, seen = new Set<Rule>()): Rule[] {
    const out: Rule[] = [];
    for (const pattern of patterns ?? []) {
      let rule = pattern;
      if (pattern.include !== undefined) {
        const target =
          pattern.include === '$self' || pattern.include === '$base'
            ? this.grammar
            : this.grammar.repository?.[pattern.include.replace(/^#/, '')];
        if (target === undefined) {
          throw new Error(`unresolved include ${pattern.include}`);
        }
        rule = target;
      }
      if (rule.match !== undefined || rule.begin !== undefined) {
        out.push(rule);
      } else if (!seen.has(rule)) {
        seen.add(rule);
        out.push(...this.leaves(rule.patterns, seen));
      }
    }
    return out;
  }

  private exec(source: string, line: string, from: number): RegExpExecArray | null {
    const re = this.regex(source);
    re.lastIndex = from;
    return re.exec(line);
  }

  private tokenizeLine(line: string, stack: Frame[]): Token[] {
    const charScopes: string[][] = Array.from({ length: line.length }, () => []);
    const paint = (from: number, to: number, scopes: string[]): void => {
      for (let i = from; i < to; i++) {
        charScopes[i] = scopes;
      }
    };
    const paintMatch = (m: RegExpExecArray, base: string[], captures: Record<string, Capture> | undefined): void => {
      paint(m.index, m.index + m[0].length, base);
      const indices = m.indices;
      if (captures === undefined || indices === undefined) {
        return;
      }
      for (const [group, capture] of Object.entries(captures)) {
        const span = indices[Number(group)];
        if (span !== undefined && capture.name !== undefined) {
          for (let i = span[0]; i < span[1]; i++) {
            charScopes[i] = [...(charScopes[i] ?? base), capture.name];
          }
        }
      }
    };

    let pos = 0;
    for (let guard = 0; pos <= line.length && guard < 10_000; guard++) {
      const frame = stack[stack.length - 1]!;
      let best: { m: RegExpExecArray; rule: Rule | 'end' } | undefined;
      if (frame.rule.end !== undefined) {
        const m = this.exec(frame.rule.end, line, pos);
        if (m !== null) {
          best = { m, rule: 'end' };
        }
      }
      for (const rule of this.leaves(frame.rule.patterns)) {
        const m = this.exec((rule.match ?? rule.begin)!, line, pos);
        if (m !== null && (best === undefined || m.index < best.m.index)) {
          best = { m, rule };
        }
      }
      if (best === undefined) {
        paint(pos, line.length, frame.scopes);
        break;
      }
      const { m, rule } = best;
      paint(pos, m.index, frame.scopes);
      if (rule === 'end') {
        paintMatch(m, frame.scopes, frame.rule.endCaptures ?? frame.rule.captures);
        stack.pop();
      } else {
        const scopes = rule.name !== undefined ? [...frame.scopes, rule.name] : frame.scopes;
        if (rule.match !== undefined) {
          paintMatch(m, scopes, rule.captures);
        } else {
          paintMatch(m, scopes, rule.beginCaptures ?? rule.captures);
          stack.push({ rule, scopes });
        }
      }
      const next = m.index + m[0].length;
      if (next === pos && rule !== 'end' && rule.begin === undefined) {
        // An empty match that changes nothing: step over one character, as vscode-textmate does.
        paint(pos, pos + 1, frame.scopes);
        pos += 1;
      } else {
        pos = next;
      }
      if (pos >= line.length && stack[stack.length - 1]!.rule.end === undefined) {
        break;
      }
    }

    const tokens: Token[] = [];
    charScopes.forEach((scopes, i) => {
      const last = tokens[tokens.length - 1];
      if (last !== undefined && last.scopes.join(' ') === scopes.join(' ')) {
        last.text += line[i];
      } else {
        tokens.push({ text: line[i]!, start: i, scopes });
      }
    });
    return tokens;
  }
}
