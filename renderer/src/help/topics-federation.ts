// Help on federating: networks of one organization, federation codes across organizations, the four toggles and
// remote TAK Servers. Every fact here is one the gateway's code makes true (gateway/federation/, access/codes.ts,
// federation/tak/coreconfig.ts) or that docs/spec/tak-facts.md read in TAK Server's sources.

import type { HelpTopic } from './types.ts'

export const FEDERATION_TOPICS: HelpTopic[] = [
  {
    id: 'federating',
    title: 'Federating networks of your organization',
    summary: 'Let the devices of two of your networks see each other, without moving any device.',
    blocks: [
      {
        kind: 'text',
        text: 'A network is a group of devices that all see each other. Federating two networks lets positions, chats and markers cross from one to the other, while each device stays enrolled where it is.'
      },
      {
        kind: 'steps',
        items: [
          'Open one of the two networks and choose the Federated Networks tab.',
          'Press Federate, keep "Within organization" and pick the other network.',
          'Choose what this end does (In and Out are on, DP-In and DP-Out off unless you change them) and press Federate.'
        ]
      },
      {
        kind: 'points',
        items: [
          'You need the permission "Federate within organization" on both networks.',
          'Two networks federate at most once; the federation shows on both networks, each with its own end and its own four toggles.',
          "What arrives over a federation goes to that network's devices and no further: it never hops on to a third network or a TAK Server.",
          'Stop removes the federation (permission "Stop federating"). To pause it instead, turn In and Out off: the row says Paused and nothing passes until you turn them back on.',
          'Networks of the Free plan do not federate.'
        ]
      }
    ],
    related: ['toggles', 'codes', 'permissions']
  },
  {
    id: 'codes',
    title: 'Federation codes: federating with another organization',
    summary: 'An 8-character code, read out to the other organization, joins one of their networks to one of yours.',
    blocks: [
      {
        kind: 'text',
        text: "Networks of different organizations federate only with a federation code: one side makes it, the other side types it in. Neither side sees the other's networks or devices."
      },
      {
        kind: 'steps',
        items: [
          "On your network's Federated Networks tab, press Generate code. The code is shown once, as two groups of four (for example K7QM-9XPA).",
          "Read it out or send it to the other organization's operator. It is made of letters and digits without look-alikes: there is no 0, 1, I, L or O.",
          'They open their network, press Federate, choose "With a code from another organization" and type the code (upper or lower case, with or without the dash).',
          "The federation appears on both networks at once. Each side then sets its own end's toggles."
        ]
      },
      {
        kind: 'points',
        items: [
          'Single purpose: a code joins your network to one other network, once. Used, it is gone; a second network needs a new code.',
          'A network has one code at a time: generating a new one replaces the old one, and Clear code withdraws it.',
          'A code expires after 24 hours unless the deployment changed Federation:CodeLifetimeSeconds. The tab shows when it expires.',
          'Only a keyed hash of the code is kept, so nobody can read it back later: if you lost it, generate a new one.',
          'Wrong codes are counted: after several wrong tries the gateway makes the person wait before trying again.',
          'Both sides need the permission "Federate with other organizations" on their network, and neither organization may be on the Free plan.'
        ]
      }
    ],
    related: ['federating', 'toggles', 'plans']
  },
  {
    id: 'toggles',
    title: 'The four toggles: In, Out, DP-In, DP-Out',
    summary: 'What each end of a federation lets through: positions and chats in and out, data packages in and out.',
    blocks: [
      {
        kind: 'text',
        text: 'Each end of a federation (and each TAK Server peer) has four switches. Your end decides what your network sends and what it takes; the other side decides the same for theirs. Traffic passes only when both agree: your Out and their In.'
      },
      {
        kind: 'points',
        items: [
          'In: your devices receive what the other side sends: positions, chats, markers and other events.',
          'Out: what your devices send reaches the other side.',
          'DP-In: data packages the other side shares are accepted and offered to your devices.',
          'DP-Out: data packages on your network are shared with the other side.',
          'In and Out both off pauses the federation: it stays set up and trusted, and nothing passes.',
          'The package switches work on their own: a federation can carry positions and no packages, or the other way round.',
          "For a TAK Server peer the four switches are all on your side: Out sends your network's traffic to it, In lets its traffic reach your devices. What the TAK Server passes on to its own users is set by its groups (see TAK Server peers).",
          'A new federation or peer starts with In and Out on, DP-In and DP-Out off.'
        ]
      },
      {
        kind: 'text',
        text: 'Before a change applies the console says what it will do, for example "Alpha North will stop sending positions to Bravo Main", and waits for you to confirm. For a few seconds afterwards, Undo puts it back. Changing toggles needs the permission "Change federation".'
      },
      {
        kind: 'text',
        text: 'Relay, beside the toggles, is off unless you turn it on: then traffic that reached your network from another federation (another network or a TAK Server) also goes out on this one, as a laptop between two units or two TAK Servers needs. The hop limit (1 to 8 links, 2 unless you change it) is how many federation links the traffic may have crossed before it leaves here; past that it stops. Traffic never goes back to a network or server it has passed, and each device gets it once, so links in a ring cannot make it circulate. Data packages are not relayed.'
      }
    ],
    related: ['federating', 'packages', 'tak-peers']
  },
  {
    id: 'what-crosses',
    title: 'What crosses: filters by kind of traffic',
    summary: 'Let only some kinds of traffic cross a federation or a TAK Server peer, each direction on its own.',
    blocks: [
      {
        kind: 'text',
        text: 'Under the switches of your end of a federation (and of each TAK Server peer), "What crosses" says what may come in and what may go out. Press it to choose, for each direction, the kinds that cross: positions, chat, markers and shapes, emergencies, data-package announcements and everything else. You can also name CoT types: any type that starts the same way crosses too (a * stands for any characters, so b-m-p-* covers every kind of point).'
      },
      {
        kind: 'points',
        items: [
          'A new filter starts with every kind ticked. Emergencies (911, ring the bell, troops in contact) cross unless you untick them, even when positions do not.',
          'Traffic crosses a federation only when both ends let it: your Out filter and their In filter, on top of the switches.',
          'Unticking data-package announcements keeps the offer of a package from crossing; with DP-In and DP-Out on, a package a device shares then does not cross with it either. The package switches still decide whether packages are shared at all.',
          'Each line counts what its filter kept back since the gateway started.',
          'Everything (no filter) is how every federation and peer starts. Changing what crosses needs the permission "Change federation".'
        ]
      }
    ],
    related: ['toggles', 'federating', 'tak-peers']
  },
  {
    id: 'tak-peers',
    title: 'TAK Server peers: what their admin must do',
    summary: 'Federate one of your networks with a remote TAK Server over TAK federation v2, step by step.',
    blocks: [
      {
        kind: 'text',
        text: 'A TAK Server peer is a remote TAK Server that federates with one of your networks. The two sides know each other by the SHA-256 fingerprint of their federation certificates. First the deployment must set Federation:AdvertisedHostname and Federation:OurFederateId (Settings shows whether they are set); until then the federation port stays off.'
      },
      {
        kind: 'steps',
        items: [
          'On your network, open External TAK Servers and unfold "Connection info for remote TAK Server peers". Send their admin: our CA certificate (.pem), our hostname, our federation port and our certificate fingerprint. Read the fingerprint out in its groups to check it arrived right.',
          'Their admin turns federation on in CoreConfig.xml: <federation enableFederation="true">. Without it TAK Server starts no federation at all.',
          'In <federation-server>, v2 must be on: v2enabled="true" and v2port set (TAK\'s usual port is 9001). The spelling is all lower case.',
          "Our CA certificate goes into the federation truststore, the file named by truststoreFile in <federation-server><tls> (usually certs/files/fed-truststore.jks), for example with keytool -importcert, or with the CA upload of TAK Server's federation page.",
          'Ask their admin which TAK groups their users are in (certificate group mapping, LDAP or AD, or Administrative › Manage Users; users with no named group are in __ANON__). Enter them on the peer under TAK groups: inbound = the groups our traffic reaches, outbound = the groups whose traffic comes to us.',
          "Send them the peer's own snippet (its row: Setup for their admin › Copy or Download). Part 1 is a <federate> entry whose id is our fingerprint, with those groups; part 2 is a <federateCA> entry for our CA with the same groups, so a renewed certificate of ours keeps its groups. A federate with no groups exchanges nothing.",
          'If their server is to dial us, they also add the <federation-outgoing> snippet, which names our hostname and port. If we dial them instead, they need no outgoing entry: tick "Fedgate dials" when you add the peer and enter their address and port.',
          'They restart TAK Server so it reads the changed CoreConfig.xml.',
          'You press Add peer and enter the SHA-256 fingerprint of their federation certificate and a name. A server that already tried to connect is listed under rejected attempts with its fingerprint, ready to add.'
        ]
      },
      {
        kind: 'snippet',
        caption: 'Where each part goes in their CoreConfig.xml (the real snippets, with our values, are in Connection info)',
        text: [
          '<federation enableFederation="true">',
          '  <federation-server v2port="9001" v2enabled="true" ...>',
          '    <tls truststoreFile="certs/files/fed-truststore.jks" ... />   <!-- our CA goes in this truststore -->',
          '  </federation-server>',
          '  <federation-outgoing displayName="..." address="OUR HOSTNAME" port="OUR PORT" protocolVersion="2" tls="true" ... />',
          '  <federate id="OUR FINGERPRINT" name="..." ...>',
          '    <inboundGroup>__ANON__</inboundGroup>',
          '    <outboundGroup>__ANON__</outboundGroup>',
          '  </federate>',
          '  <fileFilter> ... </fileFilter>',
          '  <federateCA fingerprint="OUR CA FINGERPRINT">',
          '    <inboundGroup>__ANON__</inboundGroup>',
          '    <outboundGroup>__ANON__</outboundGroup>',
          '  </federateCA>',
          '</federation>'
        ].join('\n')
      },
      {
        kind: 'points',
        items: [
          'Order inside <federation> matters to TAK Server: federation-server, then federation-outgoing, then federate, then fileFilter, then federateCA. A file without <fileFilter> needs an empty one: the schema requires it.',
          'The groups are the ones set on the peer (__ANON__ unless you change them). On a server whose users all have named groups (LDAP, certificate groups), __ANON__ reaches nobody: the link comes up and carries nothing.',
          'TAK copies the <federateCA> groups once, when a new certificate of ours first connects; if their admin changes them later, they also edit the <federate> entry TAK created for it.',
          'TAK Server compares the federate id exactly: upper-case hexadecimal with colons, as the console shows it.',
          'Our certificate stays the same when the hostname or federate id changes, so partners need not register us again.',
          'When their side refuses our certificate, the peer row says so and what to send their admin: our CA certificate and our fingerprint.',
          'Adding a peer needs "Federate with other organizations"; each peer uses one of the organization\'s tokens.'
        ]
      }
    ],
    related: ['toggles', 'plans', 'packages']
  }
]
