/**
 * A small evaluator of IAM identity and trust policies, for the operators and elements Flinkplane's policies use:
 * Effect, Action, Resource (with policy variables), Principal (Service) and the condition operators StringEquals and
 * StringLike. Anything else (NotAction, NotResource, other operators, set operators, IfExists) throws, so a policy that
 * starts to use it fails the test instead of being judged wrongly.
 */

export interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly services: readonly string[];
  readonly conditions: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
}

/** One request as IAM sees it: the action, the resource ARN and the context keys (tags and global keys). */
export interface IamRequest {
  readonly action: string;
  readonly resource?: string;
  /** The calling service principal, for trust policies. */
  readonly service?: string;
  /** Context keys such as `aws:PrincipalTag/kubernetes-namespace` or `aws:SourceAccount`. */
  readonly context: Readonly<Record<string, string | undefined>>;
}

export type Decision = 'allow' | 'implicit-deny' | 'explicit-deny';

export const SUPPORTED_OPERATORS = new Set(['StringEquals', 'StringLike']);

/** Values of CloudFormation pseudo parameters, to resolve `Ref`s and `Fn::Join`s of a synthesized template. */
export interface Pseudo {
  readonly partition: string;
  readonly accountId: string;
  readonly region: string;
}

export function resolveIntrinsics(value: unknown, pseudo: Pseudo): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, pseudo));
  if (value === null || typeof value !== 'object') return value;
  const node = value as Record<string, unknown>;
  if ('Fn::Join' in node) {
    const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => String(resolveIntrinsics(part, pseudo))).join(delimiter);
  }
  if ('Ref' in node) {
    const pseudoValues: Record<string, string> = {
      'AWS::Partition': pseudo.partition,
      'AWS::AccountId': pseudo.accountId,
      'AWS::Region': pseudo.region,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    const resolved = pseudoValues[String(node.Ref)];
    if (resolved === undefined) throw new Error(`cannot resolve Ref ${String(node.Ref)}`);
    return resolved;
  }
  if (Object.keys(node).some((key) => key.startsWith('Fn::'))) {
    throw new Error(`cannot resolve ${JSON.stringify(node)}`);
  }
  return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, resolveIntrinsics(item, pseudo)]));
}

/** The statements of a (resolved) policy document, each element as a list. */
export function statementsOf(document: unknown): Statement[] {
  const raw = (document as { Statement?: unknown })?.Statement;
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return list.map((entry: Record<string, unknown>) => {
    for (const unsupported of ['NotAction', 'NotResource', 'NotPrincipal']) {
      if (unsupported in entry) throw new Error(`the evaluator does not implement ${unsupported}`);
    }
    const effect = entry.Effect;
    if (effect !== 'Allow' && effect !== 'Deny') throw new Error(`unknown Effect ${String(effect)}`);
    const principal = entry.Principal as { Service?: unknown } | undefined;
    if (principal && Object.keys(principal).some((key) => key !== 'Service')) {
      throw new Error(`the evaluator implements only Service principals, not ${JSON.stringify(principal)}`);
    }
    const conditions: Record<string, Record<string, string[]>> = {};
    for (const [operator, keys] of Object.entries((entry.Condition ?? {}) as Record<string, Record<string, unknown>>)) {
      if (!SUPPORTED_OPERATORS.has(operator)) throw new Error(`the evaluator does not implement ${operator}`);
      conditions[operator] = Object.fromEntries(Object.entries(keys).map(([key, values]) => [key, asList(values)]));
    }
    return {
      effect,
      actions: asList(entry.Action),
      resources: asList(entry.Resource),
      services: asList(principal?.Service),
      conditions,
    };
  });
}

/** IAM's decision: an explicit deny wins, then any allow; nothing matching is an implicit deny. */
export function evaluate(statements: readonly Statement[], request: IamRequest): Decision {
  const matching = statements.filter((statement) => matches(statement, request));
  if (matching.some((statement) => statement.effect === 'Deny')) return 'explicit-deny';
  return matching.some((statement) => statement.effect === 'Allow') ? 'allow' : 'implicit-deny';
}

function matches(statement: Statement, request: IamRequest): boolean {
  if (!statement.actions.some((pattern) => glob(pattern, request.action, { ignoreCase: true }))) return false;
  if (statement.services.length > 0 && !statement.services.includes(request.service ?? '')) return false;
  if (statement.resources.length > 0) {
    if (request.resource === undefined) return false;
    const resource = request.resource;
    const hit = statement.resources.some((pattern) => {
      const parts = substitute(pattern, request.context);
      return parts !== undefined && globParts(parts, resource, { ignoreCase: false });
    });
    if (!hit) return false;
  }
  // Every operator, and every key within it, must hold; the values of one key are alternatives.
  return Object.entries(statement.conditions).every(([operator, keys]) =>
    Object.entries(keys).every(([key, values]) => {
      const actual = contextValue(request.context, key);
      if (actual === undefined) return false;
      return values.some((expected) => {
        const parts = substitute(expected, request.context);
        if (parts === undefined) return false;
        if (operator === 'StringEquals') return parts.map((part) => part.text).join('') === actual;
        return globParts(parts, actual, { ignoreCase: false });
      });
    }),
  );
}

/** Context keys are case-insensitive. */
function contextValue(context: IamRequest['context'], key: string): string | undefined {
  const found = Object.entries(context).find(([name]) => name.toLowerCase() === key.toLowerCase());
  return found?.[1];
}

interface Part {
  readonly text: string;
  /** Text from a policy variable: its `*` and `?` are characters, not wildcards. */
  readonly literal: boolean;
}

/**
 * Replaces `${key}` by its context value. A variable without a value makes the element match nothing (as IAM does
 * for a missing key); `${*}`, `${?}` and `${$}` stand for the character itself.
 */
function substitute(pattern: string, context: IamRequest['context']): Part[] | undefined {
  const parts: Part[] = [];
  let rest = pattern;
  for (let match = /\$\{([^}]*)\}/.exec(rest); match; match = /\$\{([^}]*)\}/.exec(rest)) {
    parts.push({ text: rest.slice(0, match.index), literal: false });
    const key = match[1]!;
    const special: Record<string, string> = { '*': '*', '?': '?', $: '$' };
    const value = special[key] ?? contextValue(context, key);
    if (value === undefined) return undefined;
    parts.push({ text: value, literal: true });
    rest = rest.slice(match.index + match[0].length);
  }
  parts.push({ text: rest, literal: false });
  return parts;
}

function glob(pattern: string, value: string, options: { ignoreCase: boolean }): boolean {
  return globParts([{ text: pattern, literal: false }], value, options);
}

function globParts(parts: readonly Part[], value: string, options: { ignoreCase: boolean }): boolean {
  const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const source = parts
    .map((part) =>
      part.literal
        ? escapeRegExp(part.text)
        : part.text
            .split('')
            .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : escapeRegExp(char)))
            .join(''),
    )
    .join('');
  return new RegExp(`^${source}$`, options.ignoreCase ? 'is' : 's').test(value);
}

function asList(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((item) => {
    if (typeof item !== 'string') throw new Error(`an unresolved policy value: ${JSON.stringify(item)}`);
    return item;
  });
}
