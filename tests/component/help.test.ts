// @vitest-environment happy-dom
// In-app help: one search across every topic (a word from a topic's body finds it, nonsense finds nothing, the words
// found are marked), every page and tab opens a topic that exists, and help text is shown as text, never as HTML.

import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { federateSnippet, outgoingSnippet } from '../../gateway/federation/tak/coreconfig.ts'
import HelpTopicView from '../../renderer/src/components/help/HelpTopicView.vue'
import PageHeader from '../../renderer/src/components/PageHeader.vue'
import { HELP_TOPICS, topicById, topicForPlace } from '../../renderer/src/help/index.ts'
import { excerptOf } from '../../renderer/src/help/search.ts'
import HelpPage from '../../renderer/src/pages/HelpPage.vue'
import { useHelpStore } from '../../renderer/src/stores/help.ts'
import { NETWORK_TABS, PAGES, useNavStore } from '../../renderer/src/stores/nav.ts'
import { fakeGateway, mountWithVuetify, unmountAll } from './fake-gateway.ts'

beforeEach(() => {
  fakeGateway({})
  setActivePinia(createPinia())
})
afterEach(unmountAll)

const testids = (prefix: string): string[] =>
  [...document.querySelectorAll(`[data-testid^="${prefix}"]`)].map((e) => e.getAttribute('data-testid')!.slice(prefix.length))

async function search(text: string): Promise<void> {
  const input = document.querySelector<HTMLInputElement>('[data-testid="help-search"] input')!
  input.value = text
  input.dispatchEvent(new Event('input'))
  await new Promise((resolve) => setTimeout(resolve, 0))
}

describe('Help page search', () => {
  it('lists every topic before anything is typed', async () => {
    await mountWithVuetify(HelpPage)
    expect(testids('help-topic-link-')).toEqual(HELP_TOPICS.map((t) => t.id))
  })

  it('finds a topic by a word that is only in its body, and marks the word in the result and in the topic', async () => {
    await mountWithVuetify(HelpPage)
    // "truststore" is in the TAK Server steps, not in any title or summary.
    await search('Truststore')
    expect(testids('help-result-')).toEqual(['tak-peers'])
    const result = document.querySelector('[data-testid="help-result-tak-peers"]')!
    expect([...result.querySelectorAll('mark')].map((m) => m.textContent?.toLowerCase())).toContain('truststore')
    const topic = document.querySelector('[data-testid="help-topic-tak-peers"]')!
    expect(topic.querySelectorAll('mark.help-hit').length).toBeGreaterThan(0)
    expect([...topic.querySelectorAll('mark')].every((m) => m.textContent?.toLowerCase() === 'truststore')).toBe(true)
  })

  it('needs every word: two words narrow the results to the topics holding both', async () => {
    await mountWithVuetify(HelpPage)
    await search('callsign')
    expect(testids('help-result-')).toContain('enrollment')
    await search('callsign truststore')
    expect(testids('help-result-')).toEqual([])
  })

  it('a result from a long step starts shortly before the word found, so the two lines shown hold it', () => {
    const line = `${'word '.repeat(40)}truststore ${'tail '.repeat(40)}`
    const excerpt = excerptOf(line, ['truststore'])
    expect(excerpt.startsWith('…')).toBe(true)
    expect(excerpt.endsWith('…')).toBe(true)
    expect(excerpt.indexOf('truststore')).toBeLessThanOrEqual(48)
    expect(excerptOf('short truststore line', ['truststore'])).toBe('short truststore line')
  })

  it('shows nothing for nonsense, and says so', async () => {
    await mountWithVuetify(HelpPage)
    await search('qzxvkw')
    expect(testids('help-result-')).toEqual([])
    expect(document.querySelector('[data-testid="help-no-results"]')?.textContent).toContain('qzxvkw')
    expect(document.querySelector('article.help-topic')).toBeNull()
  })
})

describe('Help from a page', () => {
  it('every page and every network tab has a topic of its own that exists', () => {
    for (const page of PAGES) for (const tab of NETWORK_TABS) expect(topicById(topicForPlace(page, tab)), `${page}/${tab}`).toBeDefined()
    expect(topicForPlace('network', 'peers')).toBe('tak-peers')
    expect(topicForPlace('network', 'devices')).toBe('enrollment')
  })

  it('the "?" in a page header opens the topic of the page it is on', async () => {
    useNavStore().go({ page: 'teams' })
    const wrapper = await mountWithVuetify(PageHeader, { title: 'Teams' })
    await wrapper.find('[data-testid="help-button"]').trigger('click')
    const help = useHelpStore()
    expect(help.open).toBe(true)
    expect(help.topicId).toBe('permissions')
  })
})

describe('Help tells the TAK admin what our snippets really say', () => {
  it('every attribute and group the help shows in <federation-outgoing> and <federate> is in the snippets the gateway hands out', () => {
    const snippet = topicById('tak-peers')!.blocks.find((b) => b.kind === 'snippet')
    if (snippet?.kind !== 'snippet') throw new Error('the TAK Server peers topic has no snippet')
    const line = (element: string): string => snippet.text.split('\n').find((l) => l.trimStart().startsWith(`<${element} `)) ?? ''
    const names = (text: string): string[] => [...text.matchAll(/([A-Za-z]+)="/g)].map((m) => m[1]!)
    const outgoing = outgoingSnippet({ displayName: 'Fedgate', hostname: 'gw.example', port: 9001 })
    const federate = federateSnippet({ fingerprint: 'AA:BB', caFingerprint: 'CC:DD', name: 'Fedgate' })
    expect(names(line('federation-outgoing'))).toContain('protocolVersion')
    for (const name of names(line('federation-outgoing'))) expect(outgoing, name).toContain(`${name}=`)
    expect(outgoing).toContain('protocolVersion="2"')
    expect(line('federation-outgoing')).toContain('protocolVersion="2"')
    for (const name of names(line('federate'))) expect(federate, name).toContain(`${name}=`)
    for (const group of ['<inboundGroup>__ANON__</inboundGroup>', '<outboundGroup>__ANON__</outboundGroup>']) {
      expect(snippet.text).toContain(group)
      expect(federate).toContain(group)
    }
  })
})

describe('Help text is text', () => {
  it('markup inside a topic is shown as characters, never made into elements', async () => {
    const topic = {
      id: 'test',
      title: 'T',
      summary: 'S',
      related: [],
      blocks: [
        { kind: 'text' as const, text: '<img src="x" onerror="alert(1)"> in a paragraph' },
        { kind: 'points' as const, items: ['<b>bold</b> in a point'] }
      ]
    }
    const wrapper = await mountWithVuetify(HelpTopicView, { topic, words: ['in'] })
    expect(wrapper.find('img').exists()).toBe(false)
    expect(wrapper.find('b').exists()).toBe(false)
    expect(wrapper.text()).toContain('<img src="x" onerror="alert(1)">')
    expect(wrapper.text()).toContain('<b>bold</b>')
  })
})
