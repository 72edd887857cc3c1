// Names for the seeded users, roughly most common first (the seed picks early entries more often,
// so some prefixes and fragments match many users and others few, as in real data). A few carry
// accents or apostrophes; TRANSLIT_FROM/TO turn them into the ASCII used in emails and usernames.

// biome-ignore format: a dense list reads better
export const FIRST_NAMES = [
  "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
  "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
  "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Margaret", "Anthony",
  "Betty", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily", "Andrew",
  "Donna", "Joshua", "Michelle", "Kenneth", "Dorothy", "Kevin", "Carol", "Brian", "Amanda",
  "George", "Melissa", "Edward", "Deborah", "Ronald", "Stephanie", "Timothy", "Rebecca", "Jason",
  "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob", "Kathleen", "Gary", "Amy", "Nicholas",
  "Shirley", "Eric", "Angela", "Jonathan", "Helen", "Stephen", "Anna", "Larry", "Brenda", "Justin",
  "Pamela", "Scott", "Nicole", "Brandon", "Emma", "Benjamin", "Samantha", "Samuel", "Katherine",
  "Gregory", "Christine", "Alexander", "Debra", "Frank", "Rachel", "Patrick", "Catherine",
  "Raymond", "Carolyn", "Jack", "Janet", "Dennis", "Ruth", "Jerry", "Maria", "Tyler", "Heather",
  "Aaron", "Diane", "José", "Virginia", "Adam", "Julie", "Henry", "Joyce", "Nathan", "Victoria",
  "Douglas", "Olivia", "Zachary", "Kelly", "Peter", "Christina", "Kyle", "Lauren", "Walter", "Joan",
  "Ethan", "Evelyn", "Jeremy", "Judith", "Harold", "Megan", "Keith", "Cheryl", "Christian",
  "Andrea", "Roger", "Hannah", "Noah", "Martha", "Gerald", "Jacqueline", "Carl", "Frances", "Terry",
  "Gloria", "Sean", "Ann", "Austin", "Teresa", "Arthur", "Kathryn", "Lawrence", "Sara", "Jesse",
  "Janice", "Dylan", "Jean", "Bryan", "Alice", "Joe", "Madison", "Jordan", "Doris", "Billy",
  "Abigail", "Bruce", "Julia", "Albert", "Judy", "Willie", "Grace", "Gabriel", "Denise", "Logan",
  "Amber", "Alan", "Marilyn", "Juan", "Beverly", "Wayne", "Danielle", "Elijah", "Theresa", "Randy",
  "Sophia", "Roy", "Marie", "Vincent", "Diana", "Ralph", "Brittany", "Eugene", "Natalie", "Russell",
  "Isabella", "Bobby", "Charlotte", "Mason", "Rose", "Philip", "Alexis", "Louis", "Kayla", "Ada",
  "Zoë", "Chloé", "Renée", "Hélène", "Søren", "Björn", "Jürgen", "Måns", "Ingrid", "Sven", "Astrid",
  "Lars", "Anneliese", "Giulia", "Luca", "Matteo", "Chiara", "Francesca", "Alessandro", "Lucía",
  "Sofía", "Mateo", "Santiago", "Valentina", "Camila", "Joaquín", "Inés", "Ramón", "Aiko", "Haruto",
  "Yuki", "Sakura", "Hiroshi", "Mei", "Wei", "Jun", "Li", "Xin", "Min-jun", "Seo-yeon", "Ji-woo",
  "Aarav", "Priya", "Arjun", "Ananya", "Rohan", "Kavya", "Vikram", "Aditi", "Olumide", "Chiamaka",
  "Kwame", "Amara", "Tunde", "Zainab", "Omar", "Fatima", "Youssef", "Leila", "Ahmed", "Noor",
  "Dmitri", "Olga", "Sergei", "Anastasia", "Piotr", "Agnieszka", "Tomasz", "Katarzyna", "Niamh",
  "Siobhán", "Seán", "Aoife", "Ciarán", "Éabha", "François", "Amélie", "Léa", "Théo", "Noël",
];

// biome-ignore format: a dense list reads better
export const LAST_NAMES = [
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
  "Marshall", "Owens", "Harrison", "Fernandez", "McDonald", "Woods", "Washington", "Kennedy",
  "Wells", "Vargas", "Henry", "Chen", "Freeman", "Webb", "Tucker", "Guzman", "Burns", "Crawford",
  "Olson", "Simpson", "Porter", "Hunter", "Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason",
  "Dixon", "Muñoz", "Hunt", "Hicks", "Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd",
  "Rose", "Stone", "Salazar", "Fox", "Warren", "Mills", "Meyer", "Rice", "Schmidt", "Garza",
  "Daniels", "Ferguson", "Nichols", "Stephens", "Soto", "Weaver", "Ryan", "Gardner", "Payne",
  "Grant", "Dunn", "Kelley", "Spencer", "Hawkins", "Arnold", "Pierce", "Vazquez", "Hansen",
  "Peters", "Santos", "Hart", "Bradley", "Knight", "Elliott", "Cunningham", "Duncan", "Armstrong",
  "Hudson", "Carroll", "Lane", "Riley", "Andrews", "Alvarado", "Ray", "Delgado", "Berry",
  "Perkins", "Hoffman", "Johnston", "Matthews", "Peña", "Richards", "Contreras", "Willis",
  "Carpenter", "Lawrence", "Sandoval", "O'Brien", "O'Connor", "O'Neill", "D'Angelo", "Müller",
  "Schröder", "Köhler", "Weiß", "Fischer", "Schneider", "Becker", "Hoffmann", "Lovelace",
  "Lindqvist", "Johansson", "Andersson", "Nilsson", "Larsen", "Jensen", "Sørensen", "Kowalski",
  "Nowak", "Wiśniewski", "Lewandowski", "Novák", "Dvořák", "Horváth", "Nagy", "Popescu",
  "Ionescu", "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
  "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine",
  "Tanaka", "Suzuki", "Takahashi", "Watanabe", "Yamamoto", "Nakamura", "Kobayashi", "Sato", "Wang",
  "Zhang", "Liu", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Park", "Choi", "Jung", "Kang", "Cho",
  "Singh", "Kumar", "Sharma", "Gupta", "Reddy", "Iyer", "Nair", "Okafor", "Adeyemi", "Mensah",
  "Okonkwo", "Haddad", "Khalil", "Nasser", "Ivanov", "Petrov", "Smirnov", "Volkov", "Kuznetsov",
  "Papadopoulos", "Yilmaz", "Kaya", "Demir", "Cohen", "Levi", "Friedman", "Ó Súilleabháin",
];

/** Characters mapped (or, past the end of TO, dropped) when making emails and usernames. */
export const TRANSLIT_FROM = "áàâäãåçéèêëíìîïñóòôöõøúùûüýÿšśřčžłőű' -ß";
export const TRANSLIT_TO = "aaaaaaceeeeiiiinoooooouuuuyysscrczlou";

// biome-ignore format: a dense list reads better
export const EMAIL_DOMAINS = [
  "gmail.com", "gmail.com", "gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com",
  "proton.me", "example.com", "acme-corp.com", "globex.io", "initech.net", "umbrella.org",
  "hooli.xyz", "stark-industries.com", "wayne-enterprises.com", "mail.de", "web.de", "orange.fr",
  "libero.it",
];

/** A few organizations as a tree: [name, index of parent or -1]. */
// biome-ignore format: a dense list reads better
export const ORGANIZATIONS: [string, number][] = [
  ["Acme Corp", -1], ["Acme Europe", 0], ["Acme Berlin", 1], ["Acme Paris", 1], ["Acme Americas", 0],
  ["Acme Austin", 4], ["Globex", -1], ["Globex Research", 6], ["Globex Sales", 6],
  ["Initech", -1], ["Initech Accounting", 9], ["Initech Engineering", 9], ["Umbrella", -1],
  ["Umbrella Labs", 12], ["Umbrella Labs North", 13], ["Hooli", -1], ["Hooli XYZ", 15],
  ["Hooli Nucleus", 15], ["Stark Industries", -1], ["Wayne Enterprises", -1],
];
