// The shape of a help topic: plain structured data, never HTML, so the console renders every word as text (no
// v-html) and search reads the same words the operator sees.

/** One piece of a topic, in reading order. */
export type HelpBlock =
  | { kind: 'text'; text: string }
  | { kind: 'steps'; items: string[] }
  | { kind: 'points'; items: string[] }
  | { kind: 'snippet'; caption: string; text: string }

export interface HelpTopic {
  id: string
  title: string
  /** One line under the title, and what a search result shows when the match is in the title. */
  summary: string
  blocks: HelpBlock[]
  /** Other topics worth reading next, by id. */
  related: string[]
}

/** Every line of a topic that search looks in, in reading order. */
export function linesOf(topic: HelpTopic): string[] {
  const lines = [topic.title, topic.summary]
  for (const block of topic.blocks) {
    if (block.kind === 'text') lines.push(block.text)
    else if (block.kind === 'snippet') lines.push(block.caption, ...block.text.split('\n'))
    else lines.push(...block.items)
  }
  return lines
}
