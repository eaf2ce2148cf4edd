// Help on everything but federating: networks, enrolling ATAK / WinTAK / iTAK, data packages, permissions and teams,
// plans and tokens, health, the audit log, settings. Facts as gateway/devices/, packages/, accounts/ make them.

import type { HelpTopic } from './types.ts'

export const CONSOLE_TOPICS: HelpTopic[] = [
  {
    id: 'networks',
    title: 'Networks',
    summary: 'Groups of devices that all see each other; the unit you federate.',
    blocks: [
      {
        kind: 'text',
        text: 'Every device on a network sees every other device on it: positions, chats, markers. A device belongs to one network, through the certificate it got when it enrolled.'
      },
      {
        kind: 'points',
        items: [
          'Open a network to see its four tabs: Devices, Federated Networks, External TAK Servers and Data Packages.',
          'The organization switcher at the top chooses whose networks you see.',
          'Your permissions on a network are shown at the top right of its page; "View only" means you can look but not change.'
        ]
      }
    ],
    related: ['enrollment', 'federating', 'permissions']
  },
  {
    id: 'enrollment',
    title: 'Enrolling ATAK, WinTAK and iTAK devices',
    summary: 'Give a device its certificate for this network: by connection package or by a one-time password.',
    blocks: [
      {
        kind: 'text',
        text: "On the Devices tab, Enroll offers two ways. Both end with a device certificate from this gateway, bound to this network. Packages and QR codes carry the address devices dial; if the laptop has several, pick the one on the phones' network."
      },
      {
        kind: 'points',
        items: [
          "Connection package (any app, nothing else to open): the gateway makes the key and certificate. Download the ATAK, WinTAK or iTAK package and note its passwords: they are shown once. A package can be downloaded again later from the device's row.",
          'Device enrolls itself (one-time password): the dialog shows a user name, which is the callsign, and a password of 12 characters, valid 24 hours and shown once. The device signs in on the enrollment port (8446) and makes its own key, which never leaves it.'
        ]
      },
      {
        kind: 'steps',
        items: [
          'iTAK: scan the QR code, then type the user name and the password.',
          'ATAK: import the enrollment package, then type the user name and password when asked.',
          'WinTAK: import the -WinTAK.zip enrollment package, then type the user name and password.',
          'Type the user name exactly as the dialog shows the callsign (case does not matter): no app reads it from the package, and the gateway signs only a request made out to that callsign. ATAK 4.x needs this too; it enrolls the older way and the gateway answers it.'
        ]
      },
      {
        kind: 'points',
        items: [
          'A password works for one signing. After five wrong passwords from one address the gateway makes that address wait.',
          'While an enrollment is pending it holds its callsign on the network, until it is used, cancelled or expires.',
          "ATAK's own enrollment QR code works only when the enrollment port has a publicly trusted certificate, which a laptop in the field seldom has: use the package.",
          'Revoke cuts a device off at once and for good; its callsign is then free to enroll again.',
          'Enrolling and revoking need the permission "Manage devices".'
        ]
      }
    ],
    related: ['networks', 'permissions']
  },
  {
    id: 'packages',
    title: 'Data packages',
    summary: 'Files (usually zipped mission packages) devices upload or you upload, and where they were shared.',
    blocks: [
      {
        kind: 'text',
        text: 'A data package is a file a device sends to the gateway, usually a zipped mission package. The Data Packages tab lists what arrived on this network, from whom, and with which federations or TAK Servers it was shared.'
      },
      {
        kind: 'points',
        items: [
          'Packages cross a federation only where the sending end has DP-Out on and the receiving end DP-In. For a TAK Server peer both switches are on your side: DP-Out sends your packages to it, DP-In takes its packages. Positions and chats do not depend on these switches.',
          'A package a device uploads waits 5 seconds before it is offered to TAK Servers: ATAK sends to chosen contacts by uploading and then making the package private, and a TAK Server cannot be asked to give one back.',
          '"Shared with" names the federations and TAK Servers a package went to.',
          'File types listed in Packages:BlockedExtensions (preference files, .pref, by default) are never sent to TAK Servers.',
          'A zip that would unpack to more than 100 times its size is kept here but not federated.',
          'Anyone who sees the network can download its packages; uploading and deleting need the permission "Manage data packages".'
        ]
      }
    ],
    related: ['toggles', 'tak-peers']
  },
  {
    id: 'permissions',
    title: 'Permissions and teams',
    summary: 'Who may do what on which network: teams hold grants, users belong to teams.',
    blocks: [
      {
        kind: 'text',
        text: 'A user acts on a network only through a team that holds a grant on that network. Anyone in the organization can see its networks; changing anything needs a permission. The console hides what you may not do, and the gateway checks every permission itself.'
      },
      {
        kind: 'points',
        items: [
          'Federate within organization: federate this network with another network of the organization (needed on both networks).',
          'Federate with other organizations: generate, clear and redeem federation codes; add TAK Server peers.',
          'Change federation: turn In, Out, DP-In and DP-Out on or off, and edit a TAK Server peer.',
          'Stop federating: end a federation or remove a TAK Server peer.',
          'Manage devices: enroll, re-download packages for and revoke devices.',
          'Manage data packages: upload and delete data packages.'
        ]
      },
      {
        kind: 'text',
        text: "Organization administrators hold every permission on their organization's networks and manage its teams and grants. Deployment administrators manage organizations, plans, token limits and users."
      }
    ],
    related: ['plans', 'federating']
  },
  {
    id: 'plans',
    title: 'Organizations, plans and tokens',
    summary: 'The Free plan does not federate; every TAK Server peer uses one token.',
    blocks: [
      {
        kind: 'points',
        items: [
          'Each organization has a plan: Free, Team or Enterprise.',
          'Free: devices and networks work, but its networks cannot federate: no federations, no federation codes, no TAK Server peers.',
          "Team and Enterprise federate. Every TAK Server peer registered on any of the organization's networks uses one token; when the token limit is reached, remove a peer or ask a deployment administrator for more tokens.",
          'Federations between local networks use no tokens.',
          'Deployment administrators create organizations and set their plan and token limit on the Organizations page.'
        ]
      }
    ],
    related: ['permissions', 'tak-peers']
  },
  {
    id: 'health',
    title: 'Health figures',
    summary: 'What the gateway is doing now: connections, rates, memory, and what it had to drop.',
    blocks: [
      {
        kind: 'points',
        items: [
          'Devices connected and TAK Servers connected: live connections now.',
          'Events in and out: CoT events per second received and delivered.',
          'Memory (RSS) and heap: what the gateway uses; its caches are held to Memory:CacheBytes.',
          'Send queues: what waits for each slow receiver. A receiver that cannot keep up loses its oldest position reports first, and the drop is counted.',
          'Drops and refusals by reason: for example devices.drops (a device could not take its traffic in time), devices.unauthorized (a certificate that is not, or no longer, a device), devices.oversize (an event bigger than Streaming:MaxEventBytes), cache.evicted (old entries forgotten to stay within memory).',
          'When the gateway cannot be reached the page says so and shows the time of its last figures, instead of "Updates live".'
        ]
      },
      {
        kind: 'text',
        text: 'The charts show the last hour: events in and delivered, drops by reason, what waits to be sent, memory, devices and TAK Servers connected. They are kept in memory only and start empty after a restart. Each federation (Chart) and each TAK Server (its traffic line) opens the same kind of chart for that one link, both ways, over 15 minutes or an hour.'
      }
    ],
    related: ['settings', 'map']
  },
  {
    id: 'map',
    title: 'The live map',
    summary: 'Where everyone is: your devices, what federated networks send, and what each TAK Server sends.',
    blocks: [
      {
        kind: 'points',
        items: [
          'Each device is drawn with its military symbol from its CoT type (for example a-f-G-U-C, a friendly ground unit), its callsign, its heading and a short trail.',
          'Each source has its own colour in the legend: this network, each federated network, each TAK Server. Click a source to hide or show it.',
          'Click a device for its callsign, source, age, speed, course and last report. Follow selected keeps it in the middle; Show all fits every device.',
          'A device past its stale time turns grey, and goes a minute later.',
          'The map needs no connection: the world outline is part of the console. For detail, Open offline map file takes a raster PMTiles file from this laptop. MBTiles can be converted with: pmtiles convert map.mbtiles map.pmtiles.',
          'You see the maps of the networks you may see, and nothing else.'
        ]
      }
    ],
    related: ['networks', 'tak-peers']
  },
  {
    id: 'audit',
    title: 'The audit log',
    summary: 'Every change an operator made: who, what, when.',
    blocks: [
      {
        kind: 'text',
        text: "Each change made in the console (a federation, a toggle, a device enrolled or revoked, a peer, a team, a user) is written to the audit log with who made it and when. You see the entries of your organization; deployment administrators also see the deployment's own."
      }
    ],
    related: ['permissions']
  },
  {
    id: 'settings',
    title: 'Settings and ports',
    summary: 'Where the data lives, which ports are open, and what must be set for TAK federation.',
    blocks: [
      {
        kind: 'text',
        text: 'Settings are read from appsettings.json in the data directory when the gateway starts; change the file (or the environment, as Federation__AdvertisedHostname) and restart. This page only shows them.'
      },
      {
        kind: 'points',
        items: [
          'Device streaming: port 8089 (Streaming:TlsPort). Data packages: 8443 (Marti:Port). Self-enrollment: 8446 (Enrollment:Port). TAK federation v2: 9001 (Federation:Port).',
          'TAK federation stays off until Federation:AdvertisedHostname (the name TAK Servers and devices use to reach this machine) and Federation:OurFederateId are both set.',
          'Federation:CodeLifetimeSeconds sets how long a federation code lasts (24 hours by default).'
        ]
      },
      {
        kind: 'steps',
        items: [
          'Federation certificate (deployment administrators): the card shows the certificate TAK Servers know us by, and when it ends.',
          'Prepare next certificate makes the next one and publishes its fingerprint and .pem in Connection info before it is used. Other Fedgates learn it over the link by themselves; send it to each TAK Server admin (or have them paste the <federateCA> part of our snippet, which covers any certificate of our CA).',
          'Switch now puts it in use; otherwise Fedgate switches by itself 7 days before the end. Links that are up stay up; new connections use the new certificate.',
          "When a TAK Server renews its own certificate, enter its new fingerprint on the peer (Edit › Their next certificate's fingerprint): both are accepted until it uses the new one."
        ]
      }
    ],
    related: ['tak-peers', 'health']
  }
]
