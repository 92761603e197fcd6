"""The words the generated shop is made of: category tree, names, places, review texts, campaigns.

Plain data, no logic. Everything here is fictional; phone numbers use 555 and e-mail
addresses use reserved example domains.
"""

from __future__ import annotations

# Top-level category -> (median unit price in dollars, {mid-level category: [leaf categories]}).
# 10 top, 50 mid and 200 leaf categories: the three-level tree products hang from (leaves only).
CATEGORY_TREE: dict[str, tuple[float, dict[str, list[str]]]] = {
    "Electronics": (89.0, {
        "Audio": ["Headphones", "Speakers", "Soundbars", "Microphones"],
        "Computers": ["Laptops", "Monitors", "Keyboards", "Mice"],
        "Phones & Tablets": ["Smartphones", "Tablets", "Phone Cases", "Chargers"],
        "Cameras": ["Digital Cameras", "Lenses", "Tripods", "Memory Cards"],
        "Smart Home": ["Smart Speakers", "Smart Lighting", "Security Cameras", "Thermostats"],
    }),
    "Home & Kitchen": (42.0, {
        "Cookware": ["Frying Pans", "Saucepans", "Dutch Ovens", "Bakeware"],
        "Small Appliances": ["Coffee Makers", "Blenders", "Toasters", "Air Fryers"],
        "Bedding": ["Sheets", "Pillows", "Duvets", "Blankets"],
        "Furniture": ["Office Chairs", "Bookshelves", "Side Tables", "Sofas"],
        "Home Decor": ["Lamps", "Rugs", "Wall Art", "Candles"],
    }),
    "Fashion": (38.0, {
        "Women's Clothing": ["Dresses", "Tops", "Jeans", "Jackets"],
        "Men's Clothing": ["Shirts", "Trousers", "Sweaters", "Coats"],
        "Shoes": ["Sneakers", "Boots", "Sandals", "Running Shoes"],
        "Accessories": ["Handbags", "Wallets", "Belts", "Sunglasses"],
        "Jewelry": ["Necklaces", "Rings", "Earrings", "Watches"],
    }),
    "Beauty & Personal Care": (21.0, {
        "Skincare": ["Moisturizers", "Cleansers", "Serums", "Sunscreen"],
        "Makeup": ["Lipstick", "Foundation", "Mascara", "Eyeshadow"],
        "Hair Care": ["Shampoo", "Conditioner", "Hair Dryers", "Styling Tools"],
        "Fragrance": ["Perfume", "Cologne", "Body Mist", "Fragrance Gift Sets"],
        "Personal Care": ["Electric Toothbrushes", "Shavers", "Deodorant", "Bath & Body"],
    }),
    "Sports & Outdoors": (45.0, {
        "Fitness": ["Yoga Mats", "Dumbbells", "Resistance Bands", "Exercise Bikes"],
        "Camping": ["Tents", "Sleeping Bags", "Backpacks", "Camp Stoves"],
        "Cycling": ["Bikes", "Helmets", "Bike Lights", "Bike Locks"],
        "Team Sports": ["Soccer Balls", "Basketballs", "Baseball Gloves", "Jerseys"],
        "Water Sports": ["Swimwear", "Goggles", "Paddle Boards", "Life Jackets"],
    }),
    "Toys & Games": (26.0, {
        "Building Sets": ["Brick Sets", "Magnetic Tiles", "Model Kits", "Marble Runs"],
        "Board Games": ["Strategy Games", "Family Games", "Card Games", "Jigsaw Puzzles"],
        "Dolls & Figures": ["Dolls", "Action Figures", "Plush Toys", "Playsets"],
        "Outdoor Play": ["Scooters", "Water Toys", "Swing Sets", "Kites"],
        "Learning Toys": ["STEM Kits", "Science Kits", "Art Supplies", "Musical Toys"],
    }),
    "Books & Media": (15.0, {
        "Fiction": ["Mystery", "Science Fiction", "Romance", "Literary Fiction"],
        "Non-Fiction": ["Biography", "History", "Self-Help", "Business"],
        "Children's Books": ["Picture Books", "Early Readers", "Middle Grade", "Young Adult"],
        "Music": ["Vinyl Records", "CDs", "Sheet Music", "Instrument Accessories"],
        "Movies & TV": ["Blu-ray", "DVDs", "Box Sets", "Documentaries"],
    }),
    "Grocery & Gourmet": (9.0, {
        "Coffee & Tea": ["Ground Coffee", "Coffee Beans", "Tea Bags", "Loose Leaf Tea"],
        "Snacks": ["Chips", "Nuts", "Cookies", "Protein Bars"],
        "Pantry": ["Pasta", "Olive Oil", "Spices", "Sauces"],
        "Beverages": ["Sparkling Water", "Juices", "Energy Drinks", "Sodas"],
        "Sweets": ["Chocolate", "Candy", "Gummies", "Baking Chocolate"],
    }),
    "Garden & Tools": (39.0, {
        "Power Tools": ["Drills", "Saws", "Sanders", "Impact Drivers"],
        "Hand Tools": ["Wrenches", "Screwdrivers", "Hammers", "Tool Sets"],
        "Gardening": ["Planters", "Seeds", "Garden Hoses", "Pruners"],
        "Outdoor Furniture": ["Patio Chairs", "Patio Tables", "Hammocks", "Patio Umbrellas"],
        "Grills": ["Gas Grills", "Charcoal Grills", "Grill Tools", "Smokers"],
    }),
    "Pet Supplies": (19.0, {
        "Dogs": ["Dog Food", "Dog Toys", "Dog Beds", "Leashes"],
        "Cats": ["Cat Food", "Cat Litter", "Scratchers", "Cat Toys"],
        "Fish": ["Aquariums", "Aquarium Filters", "Fish Food", "Aquarium Decor"],
        "Birds": ["Bird Cages", "Bird Seed", "Perches", "Bird Toys"],
        "Small Animals": ["Hamster Cages", "Small Animal Bedding", "Small Animal Food", "Hay"],
    }),
}  # fmt: skip

# Month factors (Jan..Dec) of each top-level category's demand on top of the shop's own
# seasonality: toys peak at Christmas, garden and water sports in spring and summer.
CATEGORY_MONTH_FACTORS: dict[str, tuple[float, ...]] = {
    "Toys & Games": (0.6, 0.6, 0.7, 0.7, 0.8, 0.8, 0.8, 0.8, 0.8, 1.0, 1.6, 2.4),
    "Garden & Tools": (0.6, 0.7, 1.1, 1.5, 1.6, 1.5, 1.3, 1.1, 0.9, 0.8, 0.8, 0.9),
    "Sports & Outdoors": (1.3, 1.0, 1.0, 1.1, 1.2, 1.3, 1.3, 1.1, 0.9, 0.8, 0.8, 0.9),
    "Fashion": (0.9, 0.8, 1.0, 1.0, 1.0, 0.9, 0.9, 1.1, 1.1, 1.0, 1.1, 1.3),
}

BRANDS = [
    "Northwind", "Acme", "Bluepeak", "Cedarline", "Brightwave", "Ironwood", "Lumina", "Everfield",
    "Stonebridge", "Maplecrest", "Silverline", "Redfern", "Oakhaven", "Truecraft", "Polaris",
    "Summit", "Harbor & Co", "Greenleaf", "Fjord", "Copperfox", "Willowby", "Nimbus", "Kestrel",
    "Alder", "Vantage", "Halcyon", "Riverstone", "Quarry", "Solstice", "Tidewater", "Juniper",
    "Granite", "Meridian", "Aurora", "Foxglove", "Bramble", "Cobalt", "Wildrose", "Everest",
    "Larkspur",
]  # fmt: skip

PRODUCT_DESCRIPTORS = [
    "Classic", "Pro", "Essential", "Premium", "Compact", "Deluxe", "Everyday", "Ultra", "Smart",
    "Eco", "Lite", "Plus", "Signature", "Travel", "Max", "Mini", "Heritage", "Studio", "Active",
    "Original",
]  # fmt: skip

PRODUCT_CLAIMS = [
    "Built to last and easy to care for.",
    "A customer favourite for everyday use.",
    "Thoughtfully designed with quality materials.",
    "Great value without compromising on quality.",
    "Backed by a two-year warranty.",
    "Lightweight, durable and made for real life.",
    "Our best-selling design, refreshed for this season.",
    "Carefully tested to meet our quality standards.",
]

FIRST_NAMES = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony",
    "Sandra", "Mark", "Margaret", "Donald", "Ashley", "Steven", "Kimberly", "Andrew", "Emily",
    "Paul", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian",
    "Melissa", "George", "Deborah", "Timothy", "Stephanie", "Ronald", "Rebecca", "Jason", "Sharon",
    "Edward", "Laura", "Jeffrey", "Cynthia", "Ryan", "Dorothy", "Jacob", "Amy", "Gary", "Kathleen",
    "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Emma", "Stephen", "Brenda", "Larry",
    "Pamela", "Justin", "Nicole", "Scott", "Anna", "Brandon", "Samantha", "Benjamin", "Katherine",
    "Samuel", "Christine", "Gregory", "Debra", "Alexander", "Rachel", "Patrick", "Carolyn",
    "Frank", "Janet", "Raymond", "Maria", "Jack", "Olivia", "Dennis", "Heather", "Jerry", "Helen",
    "Tyler", "Catherine", "Aaron", "Diane", "Jose", "Julie", "Adam", "Victoria", "Nathan", "Joyce",
    "Henry", "Lauren", "Zachary", "Kelly", "Douglas", "Christina", "Peter", "Ruth", "Kyle", "Joan",
    "Noah", "Virginia", "Ethan", "Judith", "Jeremy", "Evelyn", "Christian", "Hannah", "Walter",
    "Andrea", "Keith", "Megan", "Austin", "Cheryl", "Sean", "Jacqueline", "Carlos", "Madison",
    "Liam", "Sophia", "Mateo", "Isabella", "Lucas", "Mia", "Aiden", "Chloe", "Wei", "Priya",
    "Hiroshi", "Aisha", "Diego", "Fatima", "Omar", "Yuki", "Arjun", "Lucia",
]  # fmt: skip

LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell",
    "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker",
    "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales", "Murphy", "Cook",
    "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed", "Kelly",
    "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez", "Wood",
    "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez", "Castillo",
    "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez", "Powell", "Jenkins", "Perry",
    "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes", "Gonzales", "Fisher",
    "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Alexander", "Hamilton", "Graham",
    "Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes", "Bryant", "Herrera",
    "Gibson", "Ellis", "Tran", "Medina", "Aguilar", "Stevens", "Murray", "Ford", "Castro",
    "Marshall", "Owens", "Harrison", "Fernandez", "Mcdonald", "Woods", "Washington", "Kennedy",
    "Wells", "Vargas", "Henry", "Chen", "Freeman", "Webb", "Tucker", "Guzman", "Burns", "Crawford",
    "Olson", "Simpson", "Porter", "Hunter", "Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason",
    "Dixon", "Munoz", "Hunt", "Hicks", "Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd",
]  # fmt: skip

EMAIL_DOMAINS = ["example.com", "example.net", "example.org", "mail.example.com", "inbox.example"]

# (city, state, first three digits of its ZIP codes, telephone area code, relative population)
CITIES: list[tuple[str, str, str, str, float]] = [
    ("New York", "NY", "100", "212", 8.3), ("Los Angeles", "CA", "900", "213", 3.9),
    ("Chicago", "IL", "606", "312", 2.7), ("Houston", "TX", "770", "713", 2.3),
    ("Phoenix", "AZ", "850", "602", 1.6), ("Philadelphia", "PA", "191", "215", 1.6),
    ("San Antonio", "TX", "782", "210", 1.5), ("San Diego", "CA", "921", "619", 1.4),
    ("Dallas", "TX", "752", "214", 1.3), ("Austin", "TX", "787", "512", 1.0),
    ("Jacksonville", "FL", "322", "904", 0.95), ("San Jose", "CA", "951", "408", 1.0),
    ("Fort Worth", "TX", "761", "817", 0.93), ("Columbus", "OH", "432", "614", 0.9),
    ("Charlotte", "NC", "282", "704", 0.88), ("Indianapolis", "IN", "462", "317", 0.88),
    ("San Francisco", "CA", "941", "415", 0.81), ("Seattle", "WA", "981", "206", 0.75),
    ("Denver", "CO", "802", "303", 0.72), ("Washington", "DC", "200", "202", 0.69),
    ("Nashville", "TN", "372", "615", 0.69), ("Oklahoma City", "OK", "731", "405", 0.69),
    ("Boston", "MA", "021", "617", 0.65), ("El Paso", "TX", "799", "915", 0.68),
    ("Portland", "OR", "972", "503", 0.64), ("Las Vegas", "NV", "891", "702", 0.65),
    ("Detroit", "MI", "482", "313", 0.62), ("Memphis", "TN", "381", "901", 0.62),
    ("Louisville", "KY", "402", "502", 0.62), ("Baltimore", "MD", "212", "410", 0.57),
    ("Milwaukee", "WI", "532", "414", 0.56), ("Albuquerque", "NM", "871", "505", 0.56),
    ("Tucson", "AZ", "857", "520", 0.54), ("Fresno", "CA", "937", "559", 0.54),
    ("Sacramento", "CA", "958", "916", 0.52), ("Kansas City", "MO", "641", "816", 0.51),
    ("Atlanta", "GA", "303", "404", 0.5), ("Omaha", "NE", "681", "402", 0.48),
    ("Raleigh", "NC", "276", "919", 0.47), ("Miami", "FL", "331", "305", 0.44),
    ("Minneapolis", "MN", "554", "612", 0.43), ("Tampa", "FL", "336", "813", 0.4),
    ("New Orleans", "LA", "701", "504", 0.38), ("Cleveland", "OH", "441", "216", 0.37),
    ("Honolulu", "HI", "968", "808", 0.35), ("Pittsburgh", "PA", "152", "412", 0.3),
    ("Cincinnati", "OH", "452", "513", 0.31), ("St. Louis", "MO", "631", "314", 0.29),
    ("Salt Lake City", "UT", "841", "801", 0.2), ("Boise", "ID", "837", "208", 0.24),
    ("Anchorage", "AK", "995", "907", 0.29), ("Portland", "ME", "041", "207", 0.07),
    ("Burlington", "VT", "054", "802", 0.05), ("Wilmington", "DE", "198", "302", 0.07),
    ("Providence", "RI", "029", "401", 0.19), ("Manchester", "NH", "031", "603", 0.12),
    ("Hartford", "CT", "061", "860", 0.12), ("Richmond", "VA", "232", "804", 0.23),
    ("Madison", "WI", "537", "608", 0.27), ("Des Moines", "IA", "503", "515", 0.21),
]  # fmt: skip

# Combined state and average local sales tax, in basis points (1/100 of a percent).
STATE_TAX_BASIS_POINTS: dict[str, int] = {
    "AK": 176, "AZ": 837, "CA": 882, "CO": 778, "CT": 635, "DC": 600, "DE": 0, "FL": 702,
    "GA": 738, "HI": 450, "IA": 694, "ID": 603, "IL": 886, "IN": 700, "KY": 600, "LA": 955,
    "MA": 625, "MD": 600, "ME": 550, "MI": 600, "MN": 749, "MO": 836, "NC": 700, "NE": 697,
    "NH": 0, "NM": 762, "NV": 823, "NY": 852, "OH": 724, "OK": 899, "OR": 0, "PA": 634,
    "RI": 700, "TN": 955, "TX": 820, "UT": 719, "VA": 577, "VT": 624, "WA": 938, "WI": 543,
}  # fmt: skip

STREET_NAMES = [
    "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park",
    "Walnut", "Sunset", "Lincoln", "Jackson", "Church", "River", "Highland", "Willow", "Meadow",
    "Forest", "Spring", "Chestnut", "Franklin", "Ridge", "Valley", "Adams", "Jefferson", "Madison",
    "Broad", "Mill", "Center", "Union", "Prospect", "Harbor", "Bay", "Orchard", "Birch", "Aspen",
    "Magnolia", "Dogwood",
]  # fmt: skip
STREET_SUFFIXES = ["St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Way", "Pl", "Ter"]

WAREHOUSES = ["WH-EAST", "WH-WEST", "WH-CENTRAL"]
WAREHOUSE_SHARES = [0.45, 0.35, 0.20]

# Review titles and sentences by star rating (index 0 = 1 star).
REVIEW_TITLES: list[list[str]] = [
    ["Very disappointed", "Do not buy", "Broke in a week", "Waste of money", "Not as described",
     "Returned it", "Poor quality", "Terrible"],
    ["Not great", "Below expectations", "Meh", "Could be better", "Flimsy", "Overpriced",
     "Had issues", "Not for me"],
    ["It's okay", "Average", "Does the job", "Mixed feelings", "Decent for the price",
     "Nothing special", "Fine", "As expected"],
    ["Very good", "Happy with it", "Solid purchase", "Good value", "Would recommend",
     "Works well", "Nice quality", "Pleased"],
    ["Excellent!", "Love it", "Perfect", "Best purchase this year", "Exceeded expectations",
     "Five stars", "Absolutely great", "Highly recommend"],
]  # fmt: skip
REVIEW_SENTENCES: list[list[str]] = [
    ["It stopped working after a few days.", "The quality is much worse than the photos suggest.",
     "Customer service was not helpful at all.", "It arrived damaged and smelled odd.",
     "Nothing like the description.", "I want my money back.",
     "The materials feel cheap and it already shows wear."],
    ["It works, but barely.", "Smaller than I expected.", "Shipping took far too long.",
     "The instructions were confusing.", "Fine at first, then it started to fall apart.",
     "Not worth the price in my opinion.", "Some parts were missing."],
    ["It does what it says, nothing more.", "Quality is okay for the price.",
     "Delivery was on time.", "I might look for something better next time.",
     "Packaging was fine.", "A bit noisy but acceptable.", "Average build quality."],
    ["Good quality and arrived quickly.", "Does exactly what I needed.",
     "Would buy again.", "Solid build and easy to use.", "Great value for money.",
     "Only a small issue with the packaging.", "My family likes it a lot."],
    ["Absolutely love it, use it every day.", "Fantastic quality, worth every penny.",
     "Arrived early and works perfectly.", "Better than the expensive brands.",
     "Bought a second one as a gift.", "Exactly as described, highly recommended.",
     "Excellent customer service too."],
]  # fmt: skip

# Marketing calendar: (code stem, name, type, value, minimum order in dollars, month, day,
# length in days). Stems get the year appended; dates are anchored in each history year.
SEASONAL_CAMPAIGNS: list[tuple[str, str, str, float, float, int, int, int]] = [
    ("NEWYEAR", "New Year Sale", "percentage", 15, 0, 1, 1, 10),
    ("WINTER", "Winter Clearance", "percentage", 20, 40, 1, 15, 21),
    ("VALENTINE", "Valentine's Day", "fixed_amount", 10, 50, 2, 7, 8),
    ("SPRING", "Spring Refresh", "percentage", 10, 0, 3, 20, 21),
    ("MOTHERSDAY", "Mother's Day", "fixed_amount", 15, 75, 5, 1, 12),
    ("MEMORIAL", "Memorial Day Sale", "percentage", 15, 0, 5, 22, 7),
    ("SUMMER", "Summer Sale", "percentage", 20, 0, 6, 20, 21),
    ("MIDYEAR", "Mid-Year Deals", "percentage", 25, 60, 7, 14, 3),
    ("BACK2SCHOOL", "Back to School", "fixed_amount", 10, 40, 8, 5, 21),
    ("LABORDAY", "Labor Day Sale", "percentage", 15, 0, 8, 30, 6),
    ("FALL", "Fall Favourites", "percentage", 10, 0, 10, 1, 21),
    ("BLACKFRIDAY", "Black Friday", "percentage", 30, 0, 11, 0, 4),  # day 0: from Black Friday
    ("CYBERMONDAY", "Cyber Monday", "percentage", 25, 0, 11, 3, 2),  # day 3: Cyber Monday
    ("HOLIDAY", "Holiday Gifts", "fixed_amount", 20, 100, 12, 1, 22),
]
# Codes valid for the whole history: (code, name, type, value, minimum order in dollars).
EVERGREEN_PROMOTIONS: list[tuple[str, str, str, float, float]] = [
    ("WELCOME10", "Welcome discount on the first order", "percentage", 10, 0),
    ("SAVE10", "Ten dollars off orders over $75", "fixed_amount", 10, 75),
    ("LOYAL5", "Loyalty reward", "percentage", 5, 0),
    ("APPONLY15", "App exclusive", "percentage", 15, 50),
]
