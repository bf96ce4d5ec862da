"""A small retrieval set: twelve documents of a made-up company and thirty questions, each with
a phrase that only the chunk answering it contains (tests/test_knowledge_quality.py).

The questions are worded as people ask them, not copied from the answers: some share most
of their words with the answering chunk, some only a few, so keyword and vector search
differ. With the demo embeddings (a hashed bag of words) both halves measure word overlap;
see docs/knowledge.md "Quality".
"""

from __future__ import annotations

FILLER = (
    "This section is kept for completeness and repeats general guidance that applies across the "
    "company: ask your manager when in doubt, keep records accurate, follow the code of conduct, "
    "respect colleagues and customers, and report anything unusual to the right team quickly. "
)

DOCUMENTS: dict[str, str] = {
    "refunds.md": (
        "# Refunds\n\nCustomers may return any unused product within thirty days of delivery for a full "
        "refund. Opened software licences cannot be refunded once the activation key has been revealed. "
        "Refunds are paid back to the original payment card within five business days."
    ),
    "shipping.txt": (
        "Standard shipping takes three to five working days inside the European Union. Express delivery "
        "arrives the next day when ordered before two in the afternoon. We ship to Switzerland and Norway "
        "with customs duties prepaid, but we do not ship to post office boxes."
    ),
    "leave.md": (
        "# Holidays and leave\n\nEvery employee has twenty-eight days of paid annual leave, including public "
        "holidays. Unused days carry over until the end of March of the following year. "
        + FILLER
        * 3
        + "Parental leave is sixteen weeks at full pay for every parent, and may be split into two blocks "
        "taken within the child's first two years."
    ),
    "expenses.txt": (
        "Travel expenses are reimbursed when a receipt is uploaded within sixty days. Train travel is second "
        "class unless the journey exceeds four hours. Hotel nights are capped at one hundred and forty euros "
        "in most cities and two hundred euros in London, Paris and Zurich. Meals are covered up to fifty "
        "euros per day."
    ),
    "security.md": (
        "# Security\n\nPasswords must be at least fourteen characters and are never reused. Two-factor "
        "authentication with a hardware key is mandatory for production access. Lost laptops must be "
        "reported to the security desk within one hour so the disk can be wiped remotely."
    ),
    "onboarding.html": (
        "<!doctype html><html><body><h1>Onboarding</h1><p>On the first day a new hire meets their buddy at "
        "nine in the lobby and receives a laptop preconfigured by IT.</p><p>During the first week they "
        "complete the compliance training and shadow a customer call.</p>"
        + "<p>"
        + FILLER * 3
        + "</p>"
        + "<p>After ninety days the probation review decides whether the contract becomes permanent.</p>"
        "</body></html>"
    ),
    "office.txt": (
        "The Lyon office is open from eight until seven on weekdays. Visitors sign in at reception and wear "
        "a badge. Bicycles can be parked in the basement garage, and the roof terrace is closed when it is "
        "windy. The canteen serves a vegetarian menu every Thursday."
    ),
    "pricing.md": (
        "# Pricing\n\nThe Starter plan costs nine euros per seat per month and includes five agents. The "
        "Growth plan costs twenty-nine euros per seat with unlimited agents and priority support. Annual "
        "billing saves two months. Nonprofits get a forty percent discount on request."
    ),
    "support.txt": (
        "Support answers tickets within four business hours on the Growth plan and within two days on "
        "Starter. Critical outages are handled around the clock by the on-call engineer, who is paged "
        "through the incident channel. Customers can follow status updates on the public status page."
    ),
    "privacy.md": (
        "# Privacy\n\nPersonal data is stored in Frankfurt and never leaves the European Union. Chat "
        "transcripts are deleted after ninety days unless a customer exports them. Data subject requests "
        "are answered within one month, and the data protection officer can be reached by mail."
        + "\n\n"
        + FILLER * 3
        + "Subprocessors are listed on the trust page and customers are notified thirty days before a new "
        "one is added."
    ),
    "equipment.txt": (
        "Each employee may choose a laptop from the approved list every three years. A second monitor, "
        "a headset and an ergonomic chair are provided for home offices. Broken equipment is exchanged at "
        "the IT counter on the second floor."
    ),
    "sustainability.md": (
        "# Sustainability\n\nThe company offsets all business flights and prefers rail for trips under six "
        "hours. Servers run in data centres powered by renewable energy. Old laptops are refurbished and "
        "donated to local schools."
    ),
}

# (question, document, a phrase only the answering chunk holds)
QUESTIONS: list[tuple[str, str, str]] = [
    ("How many days do customers have to return a product?", "refunds.md", "within thirty days"),
    ("Can I get my money back for a software licence after activation?", "refunds.md", "activation key"),
    ("How long until a refund reaches my card?", "refunds.md", "five business days"),
    ("How fast is express delivery?", "shipping.txt", "next day"),
    ("Do you deliver to a post office box?", "shipping.txt", "post office boxes"),
    ("How many paid annual leave days do employees get?", "leave.md", "twenty-eight days"),
    ("How long is parental leave?", "leave.md", "sixteen weeks"),
    ("Until when can unused holiday days be carried over?", "leave.md", "end of March"),
    ("What is the hotel cap in London?", "expenses.txt", "two hundred euros"),
    ("Do I travel first class on long train journeys?", "expenses.txt", "second class"),
    ("What is the daily meal allowance?", "expenses.txt", "fifty euros"),
    ("How long must a password be?", "security.md", "fourteen characters"),
    ("What should I do if I lose my laptop?", "security.md", "Lost laptops"),
    ("Is a hardware key required for production access?", "security.md", "hardware key"),
    ("Where does a new hire meet their buddy on the first day?", "onboarding.html", "buddy"),
    ("When is the probation review?", "onboarding.html", "probation review"),
    ("When is the Lyon office open?", "office.txt", "eight until seven"),
    ("Where can I park my bicycle?", "office.txt", "basement garage"),
    ("Which day is the vegetarian menu served?", "office.txt", "vegetarian menu"),
    ("How much does the Starter plan cost per seat?", "pricing.md", "nine euros"),
    ("Is there a discount for nonprofits?", "pricing.md", "forty percent"),
    ("How quickly does support answer tickets on the Growth plan?", "support.txt", "four business hours"),
    ("Who handles critical outages at night?", "support.txt", "on-call engineer"),
    ("Where is personal data stored?", "privacy.md", "Frankfurt"),
    ("When are chat transcripts deleted?", "privacy.md", "ninety days unless"),
    ("Are customers told before a new subprocessor is added?", "privacy.md", "Subprocessors"),
    ("How often can I choose a new laptop?", "equipment.txt", "every three years"),
    ("Where do I exchange broken equipment?", "equipment.txt", "IT counter"),
    ("Are business flights offset?", "sustainability.md", "offsets all business flights"),
    ("What happens to old laptops?", "sustainability.md", "donated to local schools"),
]
